<?php
/*
 * Signed calls to the ttn-interop service from PHP 8 (Debian's php-cli): call tokens (ES256 with
 * OpenSSL, EdDSA with sodium) and receipts; HTTP through PHP streams, so the curl extension is not needed.
 *
 *   php ttn_example.php keygen <ES256|EdDSA> <systemId> <outDir>
 *   php ttn_example.php vectors <conformance/vectors dir>
 *   php ttn_example.php call <baseUrl> <systemId> <privateJwkFile> [serviceId]
 *
 * Every command prints one JSON document and exits 0 when everything checked out.
 */
declare(strict_types=1);

const CALL_TOKEN_TYPE = 'ttn-call+jwt';
const RECEIPT_TYPE = 'ttn-receipt+jwt';
const MAX_LIFETIME_SECONDS = 300;
const EMBEDDED_KEY_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256'];
const JSON_FLAGS = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR;

// ---- base64url, JSON, hashes --------------------------------------------------------------------

function b64url(string $bytes): string { return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '='); }

function b64url_decode(string $text): string
{
    $bytes = base64_decode(strtr($text, '-_', '+/'), true);
    if ($bytes === false) throw new InvalidArgumentException('not base64url');
    return $bytes;
}

/** The service hashes the exact bytes sent, so a body is encoded once and those bytes are both signed and sent. */
function compact_json(array $value): string { return json_encode($value, JSON_FLAGS); }

/** The bsh claim: base64url SHA-256 of the exact body bytes (of no bytes for a request without a body). */
function body_hash(string $body): string { return b64url(hash('sha256', $body, true)); }

// ---- keys from JWKs -----------------------------------------------------------------------------

function alg_of(array $jwk): string { return ($jwk['kty'] ?? '') === 'EC' ? 'ES256' : 'EdDSA'; }

function pem(string $label, string $der): string
{
    return "-----BEGIN $label-----\n" . chunk_split(base64_encode($der), 64, "\n") . "-----END $label-----\n";
}

/** OpenSSL reads keys as PEM: a P-256 public JWK is the fixed X.509 prefix and the uncompressed point 04 || x || y. */
function ec_public_pem(array $jwk): string
{
    return pem('PUBLIC KEY', hex2bin('3059301306072a8648ce3d020106082a8648ce3d030107034200') . "\x04" . b64url_decode($jwk['x']) . b64url_decode($jwk['y']));
}

/** SEC 1 ECPrivateKey: version 1, d, the curve prime256v1, and the public point. */
function ec_private_pem(array $jwk): string
{
    $der = hex2bin('30770201010420') . b64url_decode($jwk['d']) . hex2bin('a00a06082a8648ce3d030107a144034200')
        . "\x04" . b64url_decode($jwk['x']) . b64url_decode($jwk['y']);
    return pem('EC PRIVATE KEY', $der);
}

/** RFC 7638: SHA-256 of the required members in lexical order, no spaces; the service uses it as the kid. */
function thumbprint(array $jwk): string
{
    $members = $jwk['kty'] === 'EC' ? ['crv', 'kty', 'x', 'y'] : ['crv', 'kty', 'x'];
    $required = [];
    foreach ($members as $member) $required[$member] = $jwk[$member];
    return b64url(hash('sha256', compact_json($required), true));
}

function generate_key(string $alg): array
{
    if ($alg === 'ES256') {
        $details = openssl_pkey_get_details(openssl_pkey_new(['private_key_type' => OPENSSL_KEYTYPE_EC, 'curve_name' => 'prime256v1']))['ec'];
        $fixed = fn (string $bytes) => b64url(str_pad($bytes, 32, "\0", STR_PAD_LEFT));
        $public = ['kty' => 'EC', 'crv' => 'P-256', 'x' => $fixed($details['x']), 'y' => $fixed($details['y'])];
        $d = $fixed($details['d']);
    } elseif ($alg === 'EdDSA') {
        $seed = random_bytes(SODIUM_CRYPTO_SIGN_SEEDBYTES);
        $public = ['kty' => 'OKP', 'crv' => 'Ed25519', 'x' => b64url(sodium_crypto_sign_publickey(sodium_crypto_sign_seed_keypair($seed)))];
        $d = b64url($seed);
    } else {
        throw new InvalidArgumentException('alg must be ES256 or EdDSA');
    }
    $public += ['kid' => thumbprint($public), 'alg' => $alg, 'use' => 'sig'];
    return [$public + ['d' => $d], $public];
}

// ---- signatures: JOSE ES256 is the 64 bytes R || S; openssl_sign speaks DER ------------------------------

function sign_bytes(array $private_jwk, string $data): string
{
    if (alg_of($private_jwk) === 'EdDSA') {
        // A JWK's d is the 32-byte seed; sodium signs with the 64-byte secret key made from it.
        return sodium_crypto_sign_detached($data, sodium_crypto_sign_secretkey(sodium_crypto_sign_seed_keypair(b64url_decode($private_jwk['d']))));
    }
    if (!openssl_sign($data, $der, ec_private_pem($private_jwk), OPENSSL_ALGO_SHA256)) throw new RuntimeException(openssl_error_string() ?: 'openssl_sign failed');
    return der_to_raw($der);
}

function signature_valid(array $public_jwk, string $data, string $signature): bool
{
    if (strlen($signature) !== 64) return false; // ES256 R || S and Ed25519 signatures are both 64 bytes
    if (alg_of($public_jwk) === 'EdDSA') return sodium_crypto_sign_verify_detached($signature, $data, b64url_decode($public_jwk['x']));
    return openssl_verify($data, raw_to_der($signature), ec_public_pem($public_jwk), OPENSSL_ALGO_SHA256) === 1;
}

/** DER SEQUENCE { INTEGER r, INTEGER s } to r and s as 32 bytes each. */
function der_to_raw(string $der): string
{
    $r_length = ord($der[3]);
    $r = substr($der, 4, $r_length);
    $s = substr($der, 6 + $r_length, ord($der[5 + $r_length]));
    $fixed = fn (string $integer) => str_pad(ltrim($integer, "\0"), 32, "\0", STR_PAD_LEFT);
    return $fixed($r) . $fixed($s);
}

function raw_to_der(string $raw): string
{
    // A DER INTEGER is minimal and signed: leading zero bytes dropped, one put back when the top bit is set.
    $integer = function (string $bytes): string {
        $bytes = ltrim($bytes, "\0");
        if ($bytes === '' || ord($bytes[0]) & 0x80) $bytes = "\0" . $bytes;
        return "\x02" . chr(strlen($bytes)) . $bytes;
    };
    $content = $integer(substr($raw, 0, 32)) . $integer(substr($raw, 32));
    return "\x30" . chr(strlen($content)) . $content;
}

// ---- JWS ------------------------------------------------------------------------------------------

function jws_sign(array $private_jwk, array $header, array $claims): string
{
    $signing_input = b64url(compact_json($header)) . '.' . b64url(compact_json($claims));
    return $signing_input . '.' . b64url(sign_bytes($private_jwk, $signing_input));
}

/** Header, claims, signing input and signature; throws InvalidArgumentException when malformed. */
function jws_parts(string $token): array
{
    $parts = explode('.', $token);
    if (count($parts) !== 3) throw new InvalidArgumentException('not three parts');
    $header = json_decode(b64url_decode($parts[0]), true);
    $claims = json_decode(b64url_decode($parts[1]), true);
    if (!is_array($header) || !is_array($claims) || array_is_list($header) && $header !== []) throw new InvalidArgumentException('not JSON objects');
    return [$header, $claims, $parts[0] . '.' . $parts[1], b64url_decode($parts[2])];
}

// ---- call tokens -------------------------------------------------------------------------------------

/** The call token for one request: Authorization: Bearer <this>. */
function sign_call(array $private_jwk, string $issuer, string $audience, string $method, string $path_and_query, string $body = '',
                   ?int $now = null, ?string $jti = null, int $lifetime = 60): string
{
    $iat = $now ?? time();
    $header = ['alg' => alg_of($private_jwk), 'kid' => $private_jwk['kid'], 'typ' => CALL_TOKEN_TYPE];
    $claims = ['iss' => $issuer, 'aud' => $audience, 'iat' => $iat, 'exp' => $iat + $lifetime, 'jti' => $jti ?? bin2hex(random_bytes(16)),
               'htm' => strtoupper($method), 'htu' => $path_and_query, 'bsh' => body_hash($body)];
    return jws_sign($private_jwk, $header, $claims);
}

function is_text($value, int $max): bool { return is_string($value) && $value !== '' && strlen($value) <= $max; }
function is_time($value): bool { return is_int($value) && $value > 0; }

/** The service's checks in its order, as far as they need no memory of earlier calls: 'accepted' or the problem code. */
function check_call_token(string $token, string $method, string $path_and_query, string $body, array $keys_by_issuer, string $audience, int $now, int $skew): string
{
    try {
        [$h, $c, $signing_input, $signature] = jws_parts($token);
    } catch (InvalidArgumentException $malformed) {
        return 'token-malformed';
    }
    if (($h['typ'] ?? null) !== CALL_TOKEN_TYPE) return 'token-type';
    if (!in_array($h['alg'] ?? null, ['ES256', 'EdDSA'], true)) return 'token-algorithm';
    foreach (EMBEDDED_KEY_HEADERS as $name) if (array_key_exists($name, $h)) return 'token-embedded-key';
    if (array_key_exists('crit', $h) || !is_text($h['kid'] ?? null, 128) || !is_text($c['iss'] ?? null, 64)) return 'token-malformed';
    $registered = $keys_by_issuer[$c['iss']] ?? null;
    if ($registered === null) return 'issuer-unknown';
    $matching = array_values(array_filter($registered, fn ($k) => $k['kid'] === $h['kid']));
    if ($matching === []) return 'key-unknown';
    if (alg_of($matching[0]) !== $h['alg']) return 'token-algorithm';
    if (!signature_valid($matching[0], $signing_input, $signature)) return 'signature-invalid';
    if (($c['aud'] ?? null) !== $audience) return 'audience-mismatch';
    $iat = $c['iat'] ?? null;
    $exp = $c['exp'] ?? null;
    if (!is_time($iat) || !is_time($exp)) return 'token-malformed';
    if ($exp <= $iat || $exp - $iat > MAX_LIFETIME_SECONDS) return 'token-lifetime';
    if ($iat > $now + $skew) return 'token-not-yet-valid';
    if ($exp + $skew < $now) return 'token-expired';
    if (($c['htm'] ?? null) !== $method) return 'method-mismatch';
    if (($c['htu'] ?? null) !== $path_and_query) return 'path-mismatch';
    if (!is_text($c['bsh'] ?? null, 64) || !is_text($c['jti'] ?? null, 128)) return 'token-malformed';
    if ($c['bsh'] !== body_hash($body)) return 'body-hash-mismatch';
    return 'accepted';
}

// ---- receipts ------------------------------------------------------------------------------------------

final class ReceiptInvalid extends Exception {}

/** The receipt's claims, once its signature verifies with a key the service publishes; throws ReceiptInvalid with the reason. */
function verify_receipt(string $jws, array $service_jwks, string $issuer): array
{
    try {
        [$h, $claims, $signing_input, $signature] = jws_parts($jws);
    } catch (InvalidArgumentException $malformed) {
        throw new ReceiptInvalid('malformed');
    }
    $alg = $h['alg'] ?? null;
    if (!in_array($alg, ['ES256', 'EdDSA'], true)) throw new ReceiptInvalid('algorithm-not-allowed');
    $matching = array_values(array_filter($service_jwks['keys'], fn ($k) => ($k['kid'] ?? null) === ($h['kid'] ?? null) && alg_of($k) === $alg));
    if ($matching === []) throw new ReceiptInvalid('key-unknown');
    if (!signature_valid($matching[0], $signing_input, $signature)) throw new ReceiptInvalid('signature-invalid');
    if (($h['typ'] ?? null) !== RECEIPT_TYPE) throw new ReceiptInvalid('not-a-receipt');
    if (($claims['iss'] ?? null) !== $issuer) throw new ReceiptInvalid('issuer-mismatch');
    return $claims;
}

// ---- vectors <dir> -------------------------------------------------------------------------------------------

function check_vectors(string $dir): array
{
    $load = fn (string $name) => json_decode(file_get_contents("$dir/$name"), true, 512, JSON_THROW_ON_ERROR);
    [$keys, $requests, $tokens, $receipts] = [$load('keys.json'), $load('requests.json'), $load('tokens.json'), $load('receipts.json')];
    $body_of = fn (array $r) => base64_decode($r['bodyBase64'], true);
    $by_id = array_column($requests, null, 'id');
    $keys_by_issuer = [];
    foreach ($keys['callers'] as $caller) $keys_by_issuer[$caller['systemId']] = [$caller['publicJwk']];
    $failures = [];
    $checks = 0;
    $expect = function (bool $ok, string $what) use (&$failures, &$checks) {
        $checks++;
        if (!$ok) $failures[] = $what;
    };
    $check = fn (string $token, array $r) => check_call_token($token, $r['method'], $r['pathAndQuery'], $body_of($r), $keys_by_issuer, $keys['serviceId'],
        $tokens['now'], $tokens['clockSkewSeconds']);

    foreach ($requests as $r) $expect(body_hash($body_of($r)) === $r['bsh'], "request {$r['id']}: bsh");

    foreach ($keys['callers'] as $caller) {
        $expect(thumbprint($caller['publicJwk']) === $caller['publicJwk']['kid'], "key {$caller['systemId']}: kid is the thumbprint");
        foreach ($requests as $r) {
            $jti = "php-{$caller['systemId']}-{$r['id']}";
            $token = sign_call($caller['privateJwk'], $caller['systemId'], $keys['serviceId'], $r['method'], $r['pathAndQuery'], $body_of($r), $tokens['now'], $jti);
            $outcome = $check($token, $r);
            $claims = jws_parts($token)[1];
            $expect($outcome === 'accepted' && $claims['jti'] === $jti && $claims['bsh'] === $r['bsh'] && $claims['iss'] === $caller['systemId'],
                "own token {$caller['systemId']} {$r['id']}: $outcome");
        }
    }

    foreach ($tokens['tokens'] as $vector) {
        $outcome = $check($vector['token'], $by_id[$vector['request']]);
        $want = $vector['expected']['accepted'] ? 'accepted' : $vector['expected']['code'];
        $expect($outcome === $want, "token {$vector['id']}: $outcome, expected $want");
    }

    foreach ($receipts['receipts'] as $vector) {
        try {
            $verdict = ['valid' => true, 'claims' => verify_receipt($vector['jws'], $keys['serviceJwks'], $receipts['issuer'])];
        } catch (ReceiptInvalid $invalid) {
            $verdict = ['valid' => false, 'reason' => $invalid->getMessage()];
        }
        // == compares arrays by their pairs whatever their order, as JSON objects compare.
        $expect($verdict == $vector['expected'], "receipt {$vector['id']}: " . substr(json_encode($verdict, JSON_FLAGS), 0, 200));
    }
    return ['checks' => $checks, 'failed' => count($failures), 'failures' => $failures];
}

// ---- call <baseUrl> <systemId> <privateJwkFile> ---------------------------------------------------------------

/** One HTTP exchange through PHP streams: the status and the decoded JSON body. */
function http_json(string $method, string $url, string $body = '', array $headers = []): array
{
    if ($body !== '') $headers[] = 'content-type: application/json';
    $context = stream_context_create(['http' => [
        'method' => $method, 'header' => implode("\r\n", $headers), 'content' => $body,
        'ignore_errors' => true, // a 4xx answer is read like any other, its problem document included
        'timeout' => 30,
    ]]);
    $answer = file_get_contents($url, false, $context);
    preg_match('{^HTTP/\S+ (\d{3})}', $http_response_header[0] ?? '', $status);
    return [(int) ($status[1] ?? 0), $answer === '' || $answer === false ? null : json_decode($answer, true)];
}

function signed_call(string $base_url, string $system_id, array $private_jwk, string $audience, string $method, string $path_and_query, string $body = ''): array
{
    $token = sign_call($private_jwk, $system_id, $audience, $method, $path_and_query, $body);
    return [...http_json($method, $base_url . $path_and_query, $body, ["authorization: Bearer $token"]), $token];
}

function live_call(string $base_url, string $system_id, string $key_file, string $audience): array
{
    $base_url = rtrim($base_url, '/');
    $private_jwk = json_decode(file_get_contents($key_file), true, 512, JSON_THROW_ON_ERROR);
    $province = preg_replace('/^province-/', '', $system_id);
    $result = [];

    // 1. A signed GET: the system's own registration.
    [$status, $system] = signed_call($base_url, $system_id, $private_jwk, $audience, 'GET', "/v2/systems/$system_id");
    $result['getSystem'] = ['status' => $status, 'answer' => $system];

    // A real commune of the province, from the public catalogue (no token needed).
    [, $communes] = http_json('GET', "$base_url/v2/admin-units?level=commune&province=$province&limit=1");
    $commune = $communes['items'][0];

    // 2. A signed PUT with a body: one station of the province, created or updated by its own id.
    $station = ['id' => "dai-{$commune['code']}-php", 'communeCode' => $commune['code'], 'name' => "Đài truyền thanh {$commune['name']}",
                'kind' => 'ip', 'status' => 'operating', 'establishedOn' => '2025-07-01'];
    $body = compact_json(['items' => [$station]]);
    $stations_path = "/v2/provinces/$province/stations";
    [$status, $written, $token] = signed_call($base_url, $system_id, $private_jwk, $audience, 'PUT', $stations_path, $body);
    $result['putStation'] = ['status' => $status, 'stationId' => $station['id'], 'answer' => $written];

    // 3. The receipt, verified offline against the service's published keys.
    [, $jwks] = http_json('GET', "$base_url/.well-known/jwks.json");
    try {
        $claims = verify_receipt($written['receipt']['jws'] ?? '', $jwks, $audience);
        $sent = jws_parts($token)[1];
        $matches = $claims['sub'] === $system_id && $claims['req']['jti'] === $sent['jti'] && $claims['req']['bsh'] === body_hash($body)
            && $claims['req']['htm'] === 'PUT' && $claims['req']['htu'] === $stations_path;
        $result['receipt'] = ['verified' => $matches, 'id' => $claims['jti'], 'claims' => $claims];
    } catch (ReceiptInvalid $invalid) {
        $result['receipt'] = ['verified' => false, 'reason' => $invalid->getMessage()];
    }

    // 4. A signed GET reads the station back.
    [$read_status, $stored] = signed_call($base_url, $system_id, $private_jwk, $audience, 'GET', "$stations_path/{$station['id']}");
    $result['getStation'] = ['status' => $read_status, 'station' => $stored];
    $result['ok'] = $result['getSystem']['status'] === 200 && $status === 200 && $result['receipt']['verified']
        && $read_status === 200 && ($stored['name'] ?? null) === $station['name'];
    return $result;
}

function main(array $argv): int
{
    if (count($argv) >= 2 && $argv[0] === 'vectors') {
        $result = check_vectors($argv[1]);
        $ok = $result['failed'] === 0;
    } elseif (count($argv) >= 4 && $argv[0] === 'call') {
        $result = live_call($argv[1], $argv[2], $argv[3], $argv[4] ?? 'ttn-central');
        $ok = $result['ok'];
    } elseif (count($argv) === 4 && $argv[0] === 'keygen') {
        [$private_jwk, $public_jwk] = generate_key($argv[1]);
        file_put_contents("{$argv[3]}/private.jwk.json", compact_json($private_jwk));
        $registration = ['id' => $argv[2], 'role' => 'province', 'provinceCode' => preg_replace('/^province-/', '', $argv[2]),
                         'name' => $argv[2], 'jwks' => ['keys' => [$public_jwk]]];
        file_put_contents("{$argv[3]}/registration.json", json_encode($registration, JSON_FLAGS | JSON_PRETTY_PRINT));
        [$result, $ok] = [['kid' => $public_jwk['kid'], 'registration' => $registration], true];
    } else {
        fwrite(STDERR, "usage: php ttn_example.php keygen <ES256|EdDSA> <systemId> <outDir> | vectors <dir> | call <baseUrl> <systemId> <privateJwkFile> [serviceId]\n");
        return 2;
    }
    echo json_encode($result, JSON_FLAGS | JSON_PRETTY_PRINT), "\n";
    return $ok ? 0 : 1;
}

exit(main(array_slice($argv, 1)));
