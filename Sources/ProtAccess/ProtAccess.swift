// ProtAccess: who may do what, decided without a transport. `AccessRules` gives an identity's rights on a
// header (label grants, per-file grants, expiry, revocations); `AccessDecider` answers every operation the
// mount and the CLI perform with the row to commit or the refusal to log. The access matrix is its unit test.
