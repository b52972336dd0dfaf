#!/usr/bin/python3
"""Signed calls to the ttn-interop service from Python: call tokens (ES256 or EdDSA) and receipts.

Needs Python 3 and the `cryptography` package (Debian: python3-cryptography).

    ttn_example.py keygen <ES256|EdDSA> <systemId> <outDir>
    ttn_example.py vectors <conformance/vectors dir>
    ttn_example.py call <baseUrl> <systemId> <privateJwkFile> [serviceId]

Every command prints one JSON document and exits 0 when everything checked out.
"""
import base64
import hashlib
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

CALL_TOKEN_TYPE = "ttn-call+jwt"
RECEIPT_TYPE = "ttn-receipt+jwt"
MAX_LIFETIME_SECONDS = 300
EMBEDDED_KEY_HEADERS = ("jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256")


# --- base64url and JSON as JOSE wants them -------------------------------------------------------

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact_json(value) -> bytes:
    # The service hashes the exact bytes sent, so a body is serialised once and those bytes are both signed and sent.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def body_hash(body: bytes) -> str:
    """The `bsh` claim: base64url SHA-256 of the exact body bytes (of no bytes for a request without a body)."""
    return b64url(hashlib.sha256(body).digest())


# --- keys ----------------------------------------------------------------------------------------

def jwk_int(value: str) -> int:
    return int.from_bytes(b64url_decode(value), "big")


def public_key_of(jwk: dict):
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        return ec.EllipticCurvePublicNumbers(jwk_int(jwk["x"]), jwk_int(jwk["y"]), ec.SECP256R1()).public_key()
    if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    raise ValueError(f"unsupported key {jwk.get('kty')}/{jwk.get('crv')}: use P-256 (ES256) or Ed25519 (EdDSA)")


def private_key_of(jwk: dict):
    if jwk.get("kty") == "EC":
        return ec.derive_private_key(jwk_int(jwk["d"]), ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.from_private_bytes(b64url_decode(jwk["d"]))


def alg_of(jwk: dict) -> str:
    return "ES256" if jwk.get("kty") == "EC" else "EdDSA"


def thumbprint(public_jwk: dict) -> str:
    """RFC 7638: SHA-256 of the required members in lexical order, no spaces; the service uses it as the kid."""
    members = ("crv", "kty", "x", "y") if public_jwk["kty"] == "EC" else ("crv", "kty", "x")
    canonical = json.dumps({m: public_jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def generate_key(alg: str) -> tuple[dict, dict]:
    if alg == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.private_numbers()
        public = {"kty": "EC", "crv": "P-256",
                  "x": b64url(numbers.public_numbers.x.to_bytes(32, "big")), "y": b64url(numbers.public_numbers.y.to_bytes(32, "big"))}
        secret = {"d": b64url(numbers.private_value.to_bytes(32, "big"))}
    elif alg == "EdDSA":
        key = ed25519.Ed25519PrivateKey.generate()
        raw = serialization.Encoding.Raw
        public = {"kty": "OKP", "crv": "Ed25519", "x": b64url(key.public_key().public_bytes(raw, serialization.PublicFormat.Raw))}
        secret = {"d": b64url(key.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()))}
    else:
        raise ValueError("alg must be ES256 or EdDSA")
    public.update({"kid": thumbprint(public), "alg": alg, "use": "sig"})
    return {**public, **secret}, public


# --- signatures: JOSE ES256 is the 64 bytes R || S, not the DER most libraries produce ---------------

def sign_bytes(private_jwk: dict, data: bytes) -> bytes:
    key = private_key_of(private_jwk)
    if alg_of(private_jwk) == "EdDSA":
        return key.sign(data)
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def signature_valid(public_jwk: dict, data: bytes, signature: bytes) -> bool:
    key = public_key_of(public_jwk)
    try:
        if alg_of(public_jwk) == "EdDSA":
            key.verify(signature, data)
        else:
            if len(signature) != 64:
                return False
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            key.verify(der, data, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def jws_sign(private_jwk: dict, header: dict, claims: dict) -> str:
    signing_input = b64url(compact_json(header)) + "." + b64url(compact_json(claims))
    return signing_input + "." + b64url(sign_bytes(private_jwk, signing_input.encode("ascii")))


def jws_parts(token: str):
    """Header and claims as JSON, the signing input and the signature; raises ValueError when malformed."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not three parts")
    header, claims = json.loads(b64url_decode(parts[0])), json.loads(b64url_decode(parts[1]))
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("not JSON objects")
    return header, claims, (parts[0] + "." + parts[1]).encode("ascii"), b64url_decode(parts[2])


# --- call tokens -----------------------------------------------------------------------------------

def sign_call(private_jwk: dict, issuer: str, audience: str, method: str, path_and_query: str, body: bytes = b"",
              now: int | None = None, jti: str | None = None, lifetime: int = 60) -> str:
    """The call token for one request: `Authorization: Bearer <this>`."""
    iat = int(time.time()) if now is None else now
    header = {"alg": alg_of(private_jwk), "kid": private_jwk["kid"], "typ": CALL_TOKEN_TYPE}
    claims = {"iss": issuer, "aud": audience, "iat": iat, "exp": iat + lifetime, "jti": jti or str(uuid.uuid4()),
              "htm": method.upper(), "htu": path_and_query, "bsh": body_hash(body)}
    return jws_sign(private_jwk, header, claims)


def check_call_token(token: str, method: str, path_and_query: str, body: bytes, keys_by_issuer: dict, audience: str,
                     now: int, skew: int) -> str:
    """The service's checks in its order, as far as they need no memory of earlier calls: 'accepted' or the problem code."""
    try:
        header, claims, signing_input, signature = jws_parts(token)
    except (ValueError, UnicodeDecodeError):
        return "token-malformed"
    is_text = lambda v, limit: isinstance(v, str) and 0 < len(v) <= limit  # noqa: E731
    is_time = lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0  # noqa: E731
    if header.get("typ") != CALL_TOKEN_TYPE:
        return "token-type"
    if header.get("alg") not in ("ES256", "EdDSA"):
        return "token-algorithm"
    if any(name in header for name in EMBEDDED_KEY_HEADERS):
        return "token-embedded-key"
    if "crit" in header or not is_text(header.get("kid"), 128) or not is_text(claims.get("iss"), 64):
        return "token-malformed"
    registered = keys_by_issuer.get(claims["iss"])
    if registered is None:
        return "issuer-unknown"
    key = next((k for k in registered if k["kid"] == header["kid"]), None)
    if key is None:
        return "key-unknown"
    if alg_of(key) != header["alg"]:
        return "token-algorithm"
    if not signature_valid(key, signing_input, signature):
        return "signature-invalid"
    if claims.get("aud") != audience:
        return "audience-mismatch"
    iat, exp = claims.get("iat"), claims.get("exp")
    if not is_time(iat) or not is_time(exp):
        return "token-malformed"
    if exp <= iat or exp - iat > MAX_LIFETIME_SECONDS:
        return "token-lifetime"
    if iat > now + skew:
        return "token-not-yet-valid"
    if exp + skew < now:
        return "token-expired"
    if claims.get("htm") != method:
        return "method-mismatch"
    if claims.get("htu") != path_and_query:
        return "path-mismatch"
    if not is_text(claims.get("bsh"), 64) or not is_text(claims.get("jti"), 128):
        return "token-malformed"
    if claims["bsh"] != body_hash(body):
        return "body-hash-mismatch"
    return "accepted"


# --- receipts --------------------------------------------------------------------------------------

class ReceiptInvalid(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def verify_receipt(jws: str, service_jwks: dict, issuer: str) -> dict:
    """The receipt's claims, once its signature verifies with a key the service publishes; raises ReceiptInvalid."""
    try:
        header, claims, signing_input, signature = jws_parts(jws)
    except (ValueError, UnicodeDecodeError):
        raise ReceiptInvalid("malformed")
    if header.get("alg") not in ("ES256", "EdDSA"):
        raise ReceiptInvalid("algorithm-not-allowed")
    key = next((k for k in service_jwks["keys"] if k.get("kid") == header.get("kid") and alg_of(k) == header["alg"]), None)
    if key is None:
        raise ReceiptInvalid("key-unknown")
    if not signature_valid(key, signing_input, signature):
        raise ReceiptInvalid("signature-invalid")
    if header.get("typ") != RECEIPT_TYPE:
        raise ReceiptInvalid("not-a-receipt")
    if claims.get("iss") != issuer:
        raise ReceiptInvalid("issuer-mismatch")
    return claims


# --- vectors <dir> ----------------------------------------------------------------------------------

def check_vectors(directory: str) -> dict:
    load = lambda name: json.load(open(f"{directory}/{name}", encoding="utf-8"))  # noqa: E731
    keys, requests, tokens, receipts = load("keys.json"), load("requests.json"), load("tokens.json"), load("receipts.json")
    by_id = {r["id"]: r for r in requests}
    body_of = lambda r: base64.b64decode(r["bodyBase64"])  # noqa: E731
    keys_by_issuer = {c["systemId"]: [c["publicJwk"]] for c in keys["callers"]}
    failures, checks = [], 0

    def expect(ok: bool, what: str):
        nonlocal checks
        checks += 1
        if not ok:
            failures.append(what)

    for r in requests:
        expect(body_hash(body_of(r)) == r["bsh"], f"request {r['id']}: bsh")

    for caller in keys["callers"]:
        expect(thumbprint(caller["publicJwk"]) == caller["publicJwk"]["kid"], f"key {caller['systemId']}: kid is the thumbprint")
        for r in requests:
            jti = f"python-{caller['systemId']}-{r['id']}"
            token = sign_call(caller["privateJwk"], caller["systemId"], keys["serviceId"], r["method"], r["pathAndQuery"], body_of(r),
                              now=tokens["now"], jti=jti)
            outcome = check_call_token(token, r["method"], r["pathAndQuery"], body_of(r), keys_by_issuer, keys["serviceId"],
                                       tokens["now"], tokens["clockSkewSeconds"])
            _, claims, _, _ = jws_parts(token)
            expect(outcome == "accepted" and claims["jti"] == jti and claims["bsh"] == r["bsh"] and claims["iss"] == caller["systemId"],
                   f"own token {caller['systemId']} {r['id']}: {outcome}")

    for vector in tokens["tokens"]:
        r = by_id[vector["request"]]
        outcome = check_call_token(vector["token"], r["method"], r["pathAndQuery"], body_of(r), keys_by_issuer, keys["serviceId"],
                                   tokens["now"], tokens["clockSkewSeconds"])
        expected = "accepted" if vector["expected"]["accepted"] else vector["expected"]["code"]
        expect(outcome == expected, f"token {vector['id']}: {outcome}, expected {expected}")

    for vector in receipts["receipts"]:
        try:
            verdict = {"valid": True, "claims": verify_receipt(vector["jws"], keys["serviceJwks"], receipts["issuer"])}
        except ReceiptInvalid as invalid:
            verdict = {"valid": False, "reason": invalid.reason}
        expect(verdict == vector["expected"], f"receipt {vector['id']}: {json.dumps(verdict)[:200]}")

    return {"checks": checks, "failed": len(failures), "failures": failures}


# --- call <baseUrl> <systemId> <privateJwkFile> ----------------------------------------------------------

def signed_call(base_url: str, system_id: str, private_jwk: dict, audience: str, method: str, path_and_query: str,
                body: bytes = b"", headers: dict | None = None):
    token = sign_call(private_jwk, system_id, audience, method, path_and_query, body)
    request = urllib.request.Request(base_url + path_and_query, method=method, data=body if body else None,
                                     headers={"authorization": "Bearer " + token, **({"content-type": "application/json"} if body else {}), **(headers or {})})
    return http_json(request), token


def http_json(request):
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"null")


def live_call(base_url: str, system_id: str, key_file: str, audience: str) -> dict:
    base_url = base_url.rstrip("/")
    private_jwk = json.load(open(key_file, encoding="utf-8"))
    province = system_id.removeprefix("province-")
    result = {}

    # 1. A signed GET: the system's own registration.
    (status, system), _ = signed_call(base_url, system_id, private_jwk, audience, "GET", f"/v2/systems/{system_id}")
    result["getSystem"] = {"status": status, "name": system.get("name") if status == 200 else system}

    # A real commune of the province, from the public catalogue (no token needed).
    status, communes = http_json(urllib.request.Request(f"{base_url}/v2/admin-units?level=commune&province={province}&limit=1"))
    commune = communes["items"][0]["code"]

    # 2. A signed PUT with a body: one station of the province, created or updated by its own id.
    station = {"id": f"dai-{commune}-python", "communeCode": commune, "name": f"Đài truyền thanh {communes['items'][0]['name']}",
               "kind": "ip", "status": "operating", "establishedOn": "2025-07-01"}
    body = compact_json({"items": [station]})
    (status, written), token = signed_call(base_url, system_id, private_jwk, audience, "PUT", f"/v2/provinces/{province}/stations", body)
    result["putStation"] = {"status": status, "stationId": station["id"], "answer": written}

    # 3. The receipt, verified offline against the service's published keys.
    _, jwks = http_json(urllib.request.Request(f"{base_url}/.well-known/jwks.json"))
    try:
        claims = verify_receipt(written["receipt"]["jws"], jwks, audience)
        _, sent, _, _ = jws_parts(token)
        matches = claims["sub"] == system_id and claims["req"]["jti"] == sent["jti"] and claims["req"]["bsh"] == body_hash(body) \
            and claims["req"]["htm"] == "PUT" and claims["req"]["htu"] == f"/v2/provinces/{province}/stations"
        result["receipt"] = {"verified": matches, "id": claims["jti"], "claims": claims}
    except (ReceiptInvalid, KeyError, TypeError) as invalid:
        result["receipt"] = {"verified": False, "reason": str(invalid)}

    # 4. A signed GET reads the station back.
    (status, stored), _ = signed_call(base_url, system_id, private_jwk, audience, "GET", f"/v2/provinces/{province}/stations/{station['id']}")
    result["getStation"] = {"status": status, "station": stored}
    result["ok"] = result["getSystem"]["status"] == 200 and result["putStation"]["status"] == 200 \
        and result["receipt"]["verified"] and status == 200 and stored.get("name") == station["name"]
    return result


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "vectors":
        result = check_vectors(argv[1])
        ok = result["failed"] == 0
    elif len(argv) >= 4 and argv[0] == "call":
        result = live_call(argv[1], argv[2], argv[3], argv[4] if len(argv) > 4 else "ttn-central")
        ok = result["ok"]
    elif len(argv) == 4 and argv[0] == "keygen":
        private_jwk, public_jwk = generate_key(argv[1])
        with open(f"{argv[3]}/private.jwk.json", "w", encoding="utf-8") as out:
            json.dump(private_jwk, out)
        registration = {"id": argv[2], "role": "province", "provinceCode": argv[2].removeprefix("province-"),
                        "name": argv[2], "jwks": {"keys": [public_jwk]}}
        with open(f"{argv[3]}/registration.json", "w", encoding="utf-8") as out:
            json.dump(registration, out, ensure_ascii=False, indent=2)
        result, ok = {"kid": public_jwk["kid"], "registration": registration}, True
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
