// ProtCrypto: OpenSSL 3 EVP behind a small API: AES-256-GCM (one context per thread), HKDF and scrypt,
// HMAC-SHA-256, X25519, constant-time comparison, and `SecureBytes`, the wiped buffer every key lives in.
// Authenticated encryption only; no key is ever logged. See ../shared/notes for the EVP facts it relies on.
