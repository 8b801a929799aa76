//! Another build of a plugin, for the hot-reload tests of two test binaries
//! (`it` and `e2e` include this file): the same component with a custom
//! section appended, so the same behaviour under another sha256.

/// `wasm` plus a custom section tagged `tag`.
pub fn rebuilt(wasm: &[u8], tag: &str) -> Vec<u8> {
    let name = b"sluice-test";
    let mut content = vec![name.len() as u8];
    content.extend_from_slice(name);
    content.extend_from_slice(tag.as_bytes());
    let mut out = wasm.to_vec();
    out.push(0); // custom section id
    let mut len = content.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(&content);
    out
}

/// Hex sha256, as the host reports a plugin's file.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
