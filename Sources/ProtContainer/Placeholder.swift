public enum _C {}
