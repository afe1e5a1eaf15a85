/// The version both executables print (`--version`).
public enum AccordVersion {
    public static let current = "0.1.0"
}
