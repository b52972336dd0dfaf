/*
 * Signed calls to the ttn-interop service from Java 17, with the JDK only: call tokens (ES256 or
 * EdDSA) and receipts. A single-file source program:
 *
 *   java TtnExample.java keygen <ES256|EdDSA> <systemId> <outDir>
 *   java TtnExample.java vectors <conformance/vectors dir>
 *   java TtnExample.java call <baseUrl> <systemId> <privateJwkFile> [serviceId]
 *
 * Every command prints one JSON document and exits 0 when everything checked out.
 */
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.*;
import java.security.interfaces.ECPublicKey;
import java.security.spec.*;
import java.util.*;

public class TtnExample {
    static final String CALL_TOKEN_TYPE = "ttn-call+jwt";
    static final String RECEIPT_TYPE = "ttn-receipt+jwt";
    static final long MAX_LIFETIME_SECONDS = 300;
    static final List<String> EMBEDDED_KEY_HEADERS = List.of("jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256");

    // ---- base64url and hashes -------------------------------------------------------------------

    static String b64url(byte[] bytes) { return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes); }
    static byte[] b64urlDecode(String text) { return Base64.getUrlDecoder().decode(text); }
    static byte[] utf8(String text) { return text.getBytes(StandardCharsets.UTF_8); }

    static byte[] sha256(byte[] bytes) {
        try { return MessageDigest.getInstance("SHA-256").digest(bytes); } catch (NoSuchAlgorithmException e) { throw new IllegalStateException(e); }
    }

    /** The bsh claim: base64url SHA-256 of the exact body bytes (of no bytes for a request without a body). */
    static String bodyHash(byte[] body) { return b64url(sha256(body)); }

    // ---- keys from JWKs ------------------------------------------------------------------------------

    static final byte[] ED25519_SPKI_PREFIX = hex("302a300506032b6570032100");
    static final byte[] ED25519_PKCS8_PREFIX = hex("302e020100300506032b657004220420");

    static String algOf(Map<String, Object> jwk) { return "EC".equals(jwk.get("kty")) ? "ES256" : "EdDSA"; }

    static ECParameterSpec p256() throws GeneralSecurityException {
        AlgorithmParameters parameters = AlgorithmParameters.getInstance("EC");
        parameters.init(new ECGenParameterSpec("secp256r1"));
        return parameters.getParameterSpec(ECParameterSpec.class);
    }

    static BigInteger unsigned(String b64url) { return new BigInteger(1, b64urlDecode(b64url)); }

    static PublicKey publicKeyOf(Map<String, Object> jwk) throws GeneralSecurityException {
        if ("EC".equals(jwk.get("kty")) && "P-256".equals(jwk.get("crv"))) {
            ECPoint point = new ECPoint(unsigned((String) jwk.get("x")), unsigned((String) jwk.get("y")));
            return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(point, p256()));
        }
        if ("OKP".equals(jwk.get("kty")) && "Ed25519".equals(jwk.get("crv"))) {
            // The JWK's x is the raw 32-byte public key; the JDK reads it inside a fixed X.509 wrapper.
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(concat(ED25519_SPKI_PREFIX, b64urlDecode((String) jwk.get("x")))));
        }
        throw new GeneralSecurityException("unsupported key " + jwk.get("kty") + "/" + jwk.get("crv") + ": use P-256 (ES256) or Ed25519 (EdDSA)");
    }

    static PrivateKey privateKeyOf(Map<String, Object> jwk) throws GeneralSecurityException {
        if ("EC".equals(jwk.get("kty"))) return KeyFactory.getInstance("EC").generatePrivate(new ECPrivateKeySpec(unsigned((String) jwk.get("d")), p256()));
        return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(concat(ED25519_PKCS8_PREFIX, b64urlDecode((String) jwk.get("d")))));
    }

    /** RFC 7638: SHA-256 of the required members in lexical order, no spaces; the service uses it as the kid. */
    static String thumbprint(Map<String, Object> jwk) {
        Map<String, Object> required = new TreeMap<>();
        for (String member : "EC".equals(jwk.get("kty")) ? List.of("crv", "kty", "x", "y") : List.of("crv", "kty", "x")) required.put(member, jwk.get(member));
        return b64url(sha256(utf8(Json.write(required))));
    }

    static Map<String, Object>[] generateKey(String alg) throws GeneralSecurityException {
        Map<String, Object> publicJwk = new LinkedHashMap<>();
        String d;
        if (alg.equals("ES256")) {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair pair = generator.generateKeyPair();
            ECPoint w = ((ECPublicKey) pair.getPublic()).getW();
            publicJwk.put("kty", "EC"); publicJwk.put("crv", "P-256");
            publicJwk.put("x", b64url(fixed32(w.getAffineX()))); publicJwk.put("y", b64url(fixed32(w.getAffineY())));
            d = b64url(fixed32(((java.security.interfaces.ECPrivateKey) pair.getPrivate()).getS()));
        } else if (alg.equals("EdDSA")) {
            KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            byte[] spki = pair.getPublic().getEncoded(), pkcs8 = pair.getPrivate().getEncoded();
            publicJwk.put("kty", "OKP"); publicJwk.put("crv", "Ed25519");
            publicJwk.put("x", b64url(Arrays.copyOfRange(spki, spki.length - 32, spki.length)));
            d = b64url(Arrays.copyOfRange(pkcs8, pkcs8.length - 32, pkcs8.length));
        } else throw new IllegalArgumentException("alg must be ES256 or EdDSA");
        publicJwk.put("kid", thumbprint(publicJwk)); publicJwk.put("alg", alg); publicJwk.put("use", "sig");
        Map<String, Object> privateJwk = new LinkedHashMap<>(publicJwk);
        privateJwk.put("d", d);
        @SuppressWarnings("unchecked") Map<String, Object>[] pair = new Map[] { privateJwk, publicJwk };
        return pair;
    }

    // ---- signatures: JOSE ES256 is the 64 bytes R || S; the JDK's SHA256withECDSA speaks DER ----------------

    static byte[] signBytes(Map<String, Object> privateJwk, byte[] data) throws GeneralSecurityException {
        boolean ec = algOf(privateJwk).equals("ES256");
        Signature signer = Signature.getInstance(ec ? "SHA256withECDSA" : "Ed25519");
        signer.initSign(privateKeyOf(privateJwk));
        signer.update(data);
        return ec ? derToRaw(signer.sign()) : signer.sign();
    }

    static boolean signatureValid(Map<String, Object> publicJwk, byte[] data, byte[] signature) throws GeneralSecurityException {
        boolean ec = algOf(publicJwk).equals("ES256");
        if (ec && signature.length != 64) return false;
        Signature verifier = Signature.getInstance(ec ? "SHA256withECDSA" : "Ed25519");
        verifier.initVerify(publicKeyOf(publicJwk));
        verifier.update(data);
        try { return verifier.verify(ec ? rawToDer(signature) : signature); } catch (SignatureException malformed) { return false; }
    }

    /** DER SEQUENCE { INTEGER r, INTEGER s } to r and s as 32 bytes each. */
    static byte[] derToRaw(byte[] der) {
        int offset = der[1] == (byte) 0x81 ? 3 : 2;
        int rLength = der[offset + 1];
        BigInteger r = new BigInteger(1, Arrays.copyOfRange(der, offset + 2, offset + 2 + rLength));
        int sOffset = offset + 2 + rLength;
        BigInteger s = new BigInteger(1, Arrays.copyOfRange(der, sOffset + 2, sOffset + 2 + der[sOffset + 1]));
        return concat(fixed32(r), fixed32(s));
    }

    static byte[] rawToDer(byte[] raw) {
        byte[] r = new BigInteger(1, Arrays.copyOfRange(raw, 0, 32)).toByteArray(); // minimal two's complement: a leading 0 when the top bit is set
        byte[] s = new BigInteger(1, Arrays.copyOfRange(raw, 32, 64)).toByteArray();
        ByteArrayOutputStream der = new ByteArrayOutputStream();
        der.write(0x30); der.write(4 + r.length + s.length);
        der.write(0x02); der.write(r.length); der.writeBytes(r);
        der.write(0x02); der.write(s.length); der.writeBytes(s);
        return der.toByteArray();
    }

    static byte[] fixed32(BigInteger value) {
        byte[] bytes = value.toByteArray(), out = new byte[32];
        int length = Math.min(bytes.length, 32);
        System.arraycopy(bytes, bytes.length - length, out, 32 - length, length);
        return out;
    }

    // ---- JWS --------------------------------------------------------------------------------------

    static String jwsSign(Map<String, Object> privateJwk, Map<String, Object> header, Map<String, Object> claims) throws GeneralSecurityException {
        String signingInput = b64url(utf8(Json.write(header))) + "." + b64url(utf8(Json.write(claims)));
        return signingInput + "." + b64url(signBytes(privateJwk, signingInput.getBytes(StandardCharsets.US_ASCII)));
    }

    record Jws(Map<String, Object> header, Map<String, Object> claims, byte[] signingInput, byte[] signature) {
        /** Throws IllegalArgumentException when the token is not three base64url parts of JSON objects. */
        @SuppressWarnings("unchecked")
        static Jws parse(String token) {
            String[] parts = token.split("\\.", -1);
            if (parts.length != 3) throw new IllegalArgumentException("not three parts");
            Object header = Json.parse(new String(b64urlDecode(parts[0]), StandardCharsets.UTF_8));
            Object claims = Json.parse(new String(b64urlDecode(parts[1]), StandardCharsets.UTF_8));
            if (!(header instanceof Map) || !(claims instanceof Map)) throw new IllegalArgumentException("not JSON objects");
            return new Jws((Map<String, Object>) header, (Map<String, Object>) claims, (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII), b64urlDecode(parts[2]));
        }
    }

    // ---- call tokens -------------------------------------------------------------------------------

    /** The call token for one request: Authorization: Bearer <this>. */
    static String signCall(Map<String, Object> privateJwk, String issuer, String audience, String method, String pathAndQuery, byte[] body, long now, String jti)
            throws GeneralSecurityException {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("alg", algOf(privateJwk)); header.put("kid", privateJwk.get("kid")); header.put("typ", CALL_TOKEN_TYPE);
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("iss", issuer); claims.put("aud", audience); claims.put("iat", now); claims.put("exp", now + 60); claims.put("jti", jti);
        claims.put("htm", method.toUpperCase(Locale.ROOT)); claims.put("htu", pathAndQuery); claims.put("bsh", bodyHash(body));
        return jwsSign(privateJwk, header, claims);
    }

    static boolean isText(Object value, int max) { return value instanceof String s && !s.isEmpty() && s.length() <= max; }
    static boolean isTime(Object value) { return value instanceof Long n && n > 0; }

    /** The service's checks in its order, as far as they need no memory of earlier calls: "accepted" or the problem code. */
    static String checkCallToken(String token, String method, String pathAndQuery, byte[] body, Map<String, List<Map<String, Object>>> keysByIssuer,
                                 String audience, long now, long skew) throws GeneralSecurityException {
        Jws jws;
        try { jws = Jws.parse(token); } catch (IllegalArgumentException malformed) { return "token-malformed"; }
        Map<String, Object> h = jws.header(), c = jws.claims();
        if (!CALL_TOKEN_TYPE.equals(h.get("typ"))) return "token-type";
        if (!"ES256".equals(h.get("alg")) && !"EdDSA".equals(h.get("alg"))) return "token-algorithm";
        if (EMBEDDED_KEY_HEADERS.stream().anyMatch(h::containsKey)) return "token-embedded-key";
        if (h.containsKey("crit") || !isText(h.get("kid"), 128) || !isText(c.get("iss"), 64)) return "token-malformed";
        List<Map<String, Object>> registered = keysByIssuer.get((String) c.get("iss"));
        if (registered == null) return "issuer-unknown";
        Map<String, Object> key = registered.stream().filter(k -> h.get("kid").equals(k.get("kid"))).findFirst().orElse(null);
        if (key == null) return "key-unknown";
        if (!algOf(key).equals(h.get("alg"))) return "token-algorithm";
        if (!signatureValid(key, jws.signingInput(), jws.signature())) return "signature-invalid";
        if (!audience.equals(c.get("aud"))) return "audience-mismatch";
        if (!isTime(c.get("iat")) || !isTime(c.get("exp"))) return "token-malformed";
        long iat = (Long) c.get("iat"), exp = (Long) c.get("exp");
        if (exp <= iat || exp - iat > MAX_LIFETIME_SECONDS) return "token-lifetime";
        if (iat > now + skew) return "token-not-yet-valid";
        if (exp + skew < now) return "token-expired";
        if (!method.equals(c.get("htm"))) return "method-mismatch";
        if (!pathAndQuery.equals(c.get("htu"))) return "path-mismatch";
        if (!isText(c.get("bsh"), 64) || !isText(c.get("jti"), 128)) return "token-malformed";
        if (!bodyHash(body).equals(c.get("bsh"))) return "body-hash-mismatch";
        return "accepted";
    }

    // ---- receipts -----------------------------------------------------------------------------------

    static class ReceiptInvalid extends Exception {
        final String reason;
        ReceiptInvalid(String reason) { super(reason); this.reason = reason; }
    }

    /** The receipt's claims, once its signature verifies with a key the service publishes. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> verifyReceipt(String receipt, Map<String, Object> serviceJwks, String issuer) throws ReceiptInvalid, GeneralSecurityException {
        Jws jws;
        try { jws = Jws.parse(receipt); } catch (IllegalArgumentException malformed) { throw new ReceiptInvalid("malformed"); }
        Object alg = jws.header().get("alg");
        if (!"ES256".equals(alg) && !"EdDSA".equals(alg)) throw new ReceiptInvalid("algorithm-not-allowed");
        Map<String, Object> key = ((List<Map<String, Object>>) serviceJwks.get("keys")).stream()
            .filter(k -> Objects.equals(k.get("kid"), jws.header().get("kid")) && algOf(k).equals(alg)).findFirst().orElse(null);
        if (key == null) throw new ReceiptInvalid("key-unknown");
        if (!signatureValid(key, jws.signingInput(), jws.signature())) throw new ReceiptInvalid("signature-invalid");
        if (!RECEIPT_TYPE.equals(jws.header().get("typ"))) throw new ReceiptInvalid("not-a-receipt");
        if (!issuer.equals(jws.claims().get("iss"))) throw new ReceiptInvalid("issuer-mismatch");
        return jws.claims();
    }

    // ---- vectors <dir> --------------------------------------------------------------------------------

    @SuppressWarnings("unchecked")
    static Map<String, Object> checkVectors(Path dir) throws Exception {
        Map<String, Object> keys = (Map<String, Object>) Json.parse(Files.readString(dir.resolve("keys.json")));
        List<Map<String, Object>> requests = (List<Map<String, Object>>) Json.parse(Files.readString(dir.resolve("requests.json")));
        Map<String, Object> tokens = (Map<String, Object>) Json.parse(Files.readString(dir.resolve("tokens.json")));
        Map<String, Object> receipts = (Map<String, Object>) Json.parse(Files.readString(dir.resolve("receipts.json")));
        String audience = (String) keys.get("serviceId");
        long now = (Long) tokens.get("now"), skew = (Long) tokens.get("clockSkewSeconds");
        Map<String, List<Map<String, Object>>> keysByIssuer = new HashMap<>();
        for (Object caller : (List<Object>) keys.get("callers")) {
            Map<String, Object> c = (Map<String, Object>) caller;
            keysByIssuer.put((String) c.get("systemId"), List.of((Map<String, Object>) c.get("publicJwk")));
        }
        Map<String, Map<String, Object>> byId = new HashMap<>();
        for (Map<String, Object> r : requests) byId.put((String) r.get("id"), r);
        List<String> failures = new ArrayList<>();
        int checks = 0;

        for (Map<String, Object> r : requests) {
            checks++;
            if (!bodyHash(bodyOf(r)).equals(r.get("bsh"))) failures.add("request " + r.get("id") + ": bsh");
        }
        for (Object callerObject : (List<Object>) keys.get("callers")) {
            Map<String, Object> caller = (Map<String, Object>) callerObject;
            Map<String, Object> privateJwk = (Map<String, Object>) caller.get("privateJwk"), publicJwk = (Map<String, Object>) caller.get("publicJwk");
            String systemId = (String) caller.get("systemId");
            checks++;
            if (!thumbprint(publicJwk).equals(publicJwk.get("kid"))) failures.add("key " + systemId + ": kid is not the thumbprint");
            for (Map<String, Object> r : requests) {
                String jti = "java-" + systemId + "-" + r.get("id"), method = (String) r.get("method"), htu = (String) r.get("pathAndQuery");
                String token = signCall(privateJwk, systemId, audience, method, htu, bodyOf(r), now, jti);
                String outcome = checkCallToken(token, method, htu, bodyOf(r), keysByIssuer, audience, now, skew);
                Map<String, Object> claims = Jws.parse(token).claims();
                checks++;
                if (!outcome.equals("accepted") || !jti.equals(claims.get("jti")) || !r.get("bsh").equals(claims.get("bsh")) || !systemId.equals(claims.get("iss")))
                    failures.add("own token " + systemId + " " + r.get("id") + ": " + outcome);
            }
        }
        for (Object vectorObject : (List<Object>) tokens.get("tokens")) {
            Map<String, Object> vector = (Map<String, Object>) vectorObject, expected = (Map<String, Object>) vector.get("expected");
            Map<String, Object> r = byId.get((String) vector.get("request"));
            String outcome = checkCallToken((String) vector.get("token"), (String) r.get("method"), (String) r.get("pathAndQuery"), bodyOf(r), keysByIssuer, audience, now, skew);
            String want = Boolean.TRUE.equals(expected.get("accepted")) ? "accepted" : (String) expected.get("code");
            checks++;
            if (!outcome.equals(want)) failures.add("token " + vector.get("id") + ": " + outcome + ", expected " + want);
        }
        for (Object vectorObject : (List<Object>) receipts.get("receipts")) {
            Map<String, Object> vector = (Map<String, Object>) vectorObject;
            Map<String, Object> verdict = new LinkedHashMap<>();
            try {
                Map<String, Object> claims = verifyReceipt((String) vector.get("jws"), (Map<String, Object>) keys.get("serviceJwks"), (String) receipts.get("issuer"));
                verdict.put("valid", true); verdict.put("claims", claims);
            } catch (ReceiptInvalid invalid) {
                verdict.put("valid", false); verdict.put("reason", invalid.reason);
            }
            checks++;
            if (!verdict.equals(vector.get("expected"))) failures.add("receipt " + vector.get("id") + ": " + Json.write(verdict));
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("checks", (long) checks); result.put("failed", (long) failures.size()); result.put("failures", failures);
        return result;
    }

    static byte[] bodyOf(Map<String, Object> request) { return Base64.getDecoder().decode((String) request.get("bodyBase64")); }

    // ---- call <baseUrl> <systemId> <privateJwkFile> --------------------------------------------------------

    record Answer(int status, Object body, String token) {}

    static final HttpClient HTTP = HttpClient.newHttpClient();

    static Answer send(String baseUrl, String method, String pathAndQuery, byte[] body, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + pathAndQuery))
            .method(method, body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        if (token != null) request.header("authorization", "Bearer " + token);
        if (body.length > 0) request.header("content-type", "application/json");
        HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        return new Answer(response.statusCode(), response.body().isEmpty() ? null : Json.parse(response.body()), token);
    }

    static Answer signedCall(String baseUrl, String systemId, Map<String, Object> privateJwk, String audience, String method, String pathAndQuery, byte[] body) throws Exception {
        String token = signCall(privateJwk, systemId, audience, method, pathAndQuery, body, System.currentTimeMillis() / 1000, UUID.randomUUID().toString());
        return send(baseUrl, method, pathAndQuery, body, token);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> liveCall(String baseUrl, String systemId, Path keyFile, String audience) throws Exception {
        Map<String, Object> privateJwk = (Map<String, Object>) Json.parse(Files.readString(keyFile));
        String province = systemId.replaceFirst("^province-", "");
        Map<String, Object> result = new LinkedHashMap<>();
        byte[] none = new byte[0];

        // 1. A signed GET: the system's own registration.
        Answer system = signedCall(baseUrl, systemId, privateJwk, audience, "GET", "/v2/systems/" + systemId, none);
        result.put("getSystem", Map.of("status", (long) system.status(), "answer", system.body()));

        // A real commune of the province, from the public catalogue (no token needed).
        Map<String, Object> communes = (Map<String, Object>) send(baseUrl, "GET", "/v2/admin-units?level=commune&province=" + province + "&limit=1", none, null).body();
        Map<String, Object> commune = (Map<String, Object>) ((List<Object>) communes.get("items")).get(0);

        // 2. A signed PUT with a body: one station of the province, created or updated by its own id.
        Map<String, Object> station = new LinkedHashMap<>();
        station.put("id", "dai-" + commune.get("code") + "-java"); station.put("communeCode", commune.get("code"));
        station.put("name", "Đài truyền thanh " + commune.get("name")); station.put("kind", "ip"); station.put("status", "operating");
        station.put("establishedOn", "2025-07-01");
        // Serialised once: these bytes are both hashed into the token and sent.
        byte[] body = utf8(Json.write(Map.of("items", List.of(station))));
        String stationsPath = "/v2/provinces/" + province + "/stations";
        Answer put = signedCall(baseUrl, systemId, privateJwk, audience, "PUT", stationsPath, body);
        result.put("putStation", Map.of("status", (long) put.status(), "stationId", station.get("id"), "answer", put.body()));

        // 3. The receipt, verified offline against the service's published keys.
        Map<String, Object> jwks = (Map<String, Object>) send(baseUrl, "GET", "/.well-known/jwks.json", none, null).body();
        Map<String, Object> receiptResult = new LinkedHashMap<>();
        try {
            String jws = (String) ((Map<String, Object>) ((Map<String, Object>) put.body()).get("receipt")).get("jws");
            Map<String, Object> claims = verifyReceipt(jws, jwks, audience);
            Map<String, Object> req = (Map<String, Object>) claims.get("req");
            boolean matches = systemId.equals(claims.get("sub")) && Jws.parse(put.token()).claims().get("jti").equals(req.get("jti"))
                && bodyHash(body).equals(req.get("bsh")) && "PUT".equals(req.get("htm")) && stationsPath.equals(req.get("htu"));
            receiptResult.put("verified", matches); receiptResult.put("id", claims.get("jti")); receiptResult.put("claims", claims);
        } catch (ReceiptInvalid | ClassCastException | NullPointerException invalid) {
            receiptResult.put("verified", false); receiptResult.put("reason", String.valueOf(invalid.getMessage()));
        }
        result.put("receipt", receiptResult);

        // 4. A signed GET reads the station back.
        Answer stored = signedCall(baseUrl, systemId, privateJwk, audience, "GET", stationsPath + "/" + station.get("id"), none);
        result.put("getStation", Map.of("status", (long) stored.status(), "station", stored.body()));
        boolean ok = system.status() == 200 && put.status() == 200 && Boolean.TRUE.equals(receiptResult.get("verified")) && stored.status() == 200
            && station.get("name").equals(((Map<String, Object>) stored.body()).get("name"));
        result.put("ok", ok);
        return result;
    }

    public static void main(String[] args) throws Exception {
        Map<String, Object> result;
        boolean ok;
        if (args.length >= 2 && args[0].equals("vectors")) {
            result = checkVectors(Path.of(args[1]));
            ok = (Long) result.get("failed") == 0;
        } else if (args.length >= 4 && args[0].equals("call")) {
            result = liveCall(args[1].replaceAll("/+$", ""), args[2], Path.of(args[3]), args.length > 4 ? args[4] : "ttn-central");
            ok = Boolean.TRUE.equals(result.get("ok"));
        } else if (args.length == 4 && args[0].equals("keygen")) {
            Map<String, Object>[] pair = generateKey(args[1]);
            Files.writeString(Path.of(args[3], "private.jwk.json"), Json.write(pair[0]));
            Map<String, Object> registration = new LinkedHashMap<>();
            registration.put("id", args[2]); registration.put("role", "province"); registration.put("provinceCode", args[2].replaceFirst("^province-", ""));
            registration.put("name", args[2]); registration.put("jwks", Map.of("keys", List.of(pair[1])));
            Files.writeString(Path.of(args[3], "registration.json"), Json.write(registration));
            result = new LinkedHashMap<>(Map.of("kid", pair[1].get("kid"), "registration", registration));
            ok = true;
        } else {
            System.err.println("usage: java TtnExample.java keygen <ES256|EdDSA> <systemId> <outDir> | vectors <dir> | call <baseUrl> <systemId> <privateJwkFile> [serviceId]");
            System.exit(2);
            return;
        }
        System.out.println(Json.write(result));
        System.exit(ok ? 0 : 1);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static byte[] hex(String text) {
        byte[] out = new byte[text.length() / 2];
        for (int i = 0; i < out.length; i++) out[i] = (byte) Integer.parseInt(text.substring(2 * i, 2 * i + 2), 16);
        return out;
    }

    /**
     * Just enough JSON for this program: objects (kept in order), arrays, strings, integers as Long,
     * other numbers as Double, booleans and null. Writes without spaces, non-ASCII characters as they are.
     */
    static final class Json {
        private final String text;
        private int at;

        private Json(String text) { this.text = text; }

        static Object parse(String text) {
            Json reader = new Json(text);
            Object value = reader.value();
            reader.space();
            if (reader.at != text.length()) throw new IllegalArgumentException("trailing characters at " + reader.at);
            return value;
        }

        private void space() { while (at < text.length() && " \t\r\n".indexOf(text.charAt(at)) >= 0) at++; }

        private char next() {
            if (at >= text.length()) throw new IllegalArgumentException("unexpected end of JSON");
            return text.charAt(at++);
        }

        private void expect(String word) {
            if (!text.startsWith(word, at)) throw new IllegalArgumentException("expected " + word + " at " + at);
            at += word.length();
        }

        private Object value() {
            space();
            char c = next();
            switch (c) {
                case '{': {
                    Map<String, Object> object = new LinkedHashMap<>();
                    space();
                    if (text.charAt(at) == '}') { at++; return object; }
                    do {
                        space();
                        if (next() != '"') throw new IllegalArgumentException("expected a key at " + at);
                        String key = string();
                        space();
                        if (next() != ':') throw new IllegalArgumentException("expected : at " + at);
                        object.put(key, value());
                        space();
                    } while (next() == ',' || fail(at - 1, '}'));
                    return object;
                }
                case '[': {
                    List<Object> array = new ArrayList<>();
                    space();
                    if (text.charAt(at) == ']') { at++; return array; }
                    do { array.add(value()); space(); } while (next() == ',' || fail(at - 1, ']'));
                    return array;
                }
                case '"': return string();
                case 't': at--; expect("true"); return true;
                case 'f': at--; expect("false"); return false;
                case 'n': at--; expect("null"); return null;
                default: {
                    int start = --at;
                    while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) at++;
                    String number = text.substring(start, at);
                    if (number.isEmpty()) throw new IllegalArgumentException("unexpected " + c + " at " + start);
                    return number.matches("-?\\d+") ? (Object) Long.parseLong(number) : (Object) Double.parseDouble(number);
                }
            }
        }

        /** Ends a `do ... while (next() == ',' || fail(...))` loop at the closing bracket, or refuses anything else. */
        private boolean fail(int position, char closing) {
            if (text.charAt(position) != closing) throw new IllegalArgumentException("expected , or " + closing + " at " + position);
            return false;
        }

        private String string() {
            StringBuilder out = new StringBuilder();
            for (char c = next(); c != '"'; c = next()) {
                if (c != '\\') { out.append(c); continue; }
                char escaped = next();
                switch (escaped) {
                    case 'n' -> out.append('\n');
                    case 't' -> out.append('\t');
                    case 'r' -> out.append('\r');
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'u' -> { out.append((char) Integer.parseInt(text.substring(at, at + 4), 16)); at += 4; }
                    default -> out.append(escaped); // \" \\ \/
                }
            }
            return out.toString();
        }

        static String write(Object value) {
            StringBuilder out = new StringBuilder();
            write(value, out);
            return out.toString();
        }

        private static void write(Object value, StringBuilder out) {
            if (value == null) out.append("null");
            else if (value instanceof String s) {
                out.append('"');
                for (char c : s.toCharArray()) {
                    if (c == '"' || c == '\\') out.append('\\').append(c);
                    else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
                }
                out.append('"');
            } else if (value instanceof Map<?, ?> map) {
                out.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    if (!first) out.append(',');
                    first = false;
                    write(String.valueOf(entry.getKey()), out);
                    out.append(':');
                    write(entry.getValue(), out);
                }
                out.append('}');
            } else if (value instanceof List<?> list) {
                out.append('[');
                for (int i = 0; i < list.size(); i++) { if (i > 0) out.append(','); write(list.get(i), out); }
                out.append(']');
            } else out.append(value); // Long, Double, Boolean
        }
    }
}
