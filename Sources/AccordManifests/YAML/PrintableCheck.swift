/// YAML 1.2 streams hold only printable characters: tab, line breaks and
/// everything else but the C0 and C1 controls, DEL, U+FFFE and U+FFFF.
/// libyaml refuses the others without saying where they are, so Accord finds
/// the first one itself. Input is already known to be valid UTF-8.
enum PrintableCheck {
    /// Byte offset and code point of the first character YAML does not allow.
    static func firstNonPrintable(in bytes: [UInt8]) -> (offset: Int, scalar: UInt32)? {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                if (b < 0x20 && b != 0x09 && b != 0x0A && b != 0x0D) || b == 0x7F { return (i, UInt32(b)) }
                i += 1
            } else if b == 0xC2, i + 1 < n, bytes[i + 1] >= 0x80, bytes[i + 1] <= 0x9F, bytes[i + 1] != 0x85 {
                return (i, UInt32(bytes[i + 1]))
            } else if b == 0xEF, i + 2 < n, bytes[i + 1] == 0xBF, bytes[i + 2] >= 0xBE {
                return (i, 0xFFFE + UInt32(bytes[i + 2] - 0xBE))
            } else {
                i += b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2
            }
        }
        return nil
    }
}
