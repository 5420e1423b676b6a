// ProtPolicy: labels, rights, folder rules, auto-classification and the detectors, parsed from a policy file
// (POLICY.md) with FILE:LINE:COL diagnostics. Pure decisions over data: no I/O once a policy is loaded.
