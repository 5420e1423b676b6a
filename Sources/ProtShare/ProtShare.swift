// ProtShare: sharing protected copies with named people. Share records, the grants a share adds to a header,
// portable copies (.pfs), the signed key protocol and its client.
