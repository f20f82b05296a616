// sne — Subnetwork Ensembles from YAML: one class per verb in Verbs/ (run, validate, plugins, submit, status, grow,
// predict, report, bench). Exit codes: see ExitCodes.
return new SubnetworkEnsembles.Host.Verbs.VerbContext().Invoke(args);
