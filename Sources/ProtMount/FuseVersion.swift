import CFuse3

/// The libfuse3 the mount frontend is linked against (the frontend itself lands with the mount issue).
public enum FuseLibrary {
    public static var version: Int { Int(fuse_version()) }
}
