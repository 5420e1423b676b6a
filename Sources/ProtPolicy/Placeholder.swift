public enum _Po {}
