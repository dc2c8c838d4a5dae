// Package e2e runs the module's functions end to end: real `dagger call` lines against a
// running Dagger engine, on the small Terraform stacks in testdata/stacks, with moto as AWS
// (started by --emulate-aws for one call, or as a host moto_server for state that must
// outlive a call). The tests skip unless INFRAPIPE_ENGINE is set; .ci/e2e.sh runs them.
package e2e
