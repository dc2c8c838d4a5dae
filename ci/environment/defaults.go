package environment

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/infrapipe/infrapipe/ci/findings"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
)

// DefaultProtectedTypes are the stateful AWS resource types whose delete or replace loses
// data that no apply can bring back. A trailing "*" matches every type with that prefix.
var DefaultProtectedTypes = []string{
	"aws_db_instance",
	"aws_rds_cluster",
	"aws_rds_cluster_instance",
	"aws_s3_bucket",
	"aws_dynamodb_table",
	"aws_efs_file_system",
	"aws_elasticache_*",
	"aws_kms_key",
	"aws_docdb_cluster",
	"aws_neptune_cluster",
	"aws_redshift_cluster",
	"aws_opensearch_domain",
	"aws_elasticsearch_domain",
	"aws_ebs_volume",
	"aws_backup_vault",
	"aws_secretsmanager_secret",
	"aws_sqs_queue",
	"aws_kinesis_stream",
	"aws_msk_cluster",
	"aws_fsx_*",
}

// DefaultLockTimeout is how long a run waits for another run's state lock before failing;
// long enough to queue behind a short apply, short enough to notice a stuck lock.
const DefaultLockTimeout = 5 * time.Minute

// DefaultPlanMaxAge is how old a stored plan may be when it is applied: a working day for a
// review, short enough that the plan still describes the infrastructure it was made on.
const DefaultPlanMaxAge = 24 * time.Hour

// checksFor lists the checks each validation level runs, each level adding to the last.
func checksFor(v Validation) []Check {
	switch v {
	case Basic:
		return []Check{CheckFmt, CheckValidate}
	case Standard:
		return []Check{CheckFmt, CheckValidate, CheckLint, CheckSecurity}
	default: // Enhanced and Strict run everything; Strict also makes failures block.
		return []Check{CheckFmt, CheckValidate, CheckLint, CheckSecurity, CheckCompliance, CheckCost}
	}
}

// AllChecks are the valid check names, in the order the pipeline runs them.
var AllChecks = []Check{CheckFmt, CheckValidate, CheckLint, CheckSecurity, CheckCompliance, CheckCost}

// ParseName validates an environment name from any untrusted source (a workflow input, an
// event payload, a flag): the result is safe to put in a path, a state key or a command.
func ParseName(s string) (Name, error) {
	for _, n := range Names {
		if s == string(n) {
			return n, nil
		}
	}
	return "", fmt.Errorf("unknown environment %s: valid environments are %s", untrusted.Quote(s), nameList())
}

// Select is the environments --env names: every one when it is empty.
func Select(env string) ([]Name, error) {
	if env == "" {
		return slices.Clone(Names), nil
	}
	n, err := ParseName(env)
	if err != nil {
		return nil, fmt.Errorf("--env: %w", err)
	}
	return []Name{n}, nil
}

func nameList() string {
	s := make([]string, len(Names))
	for i, n := range Names {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}

// Default returns the built-in profile of an environment, before any pipeline.yaml.
func Default(name Name) (Profile, error) {
	if _, err := ParseName(string(name)); err != nil {
		return Profile{}, err
	}
	p := Profile{
		Name:           name,
		ProtectedTypes: slices.Clone(DefaultProtectedTypes),
		LockTimeout:    DefaultLockTimeout,
		PlanMaxAge:     DefaultPlanMaxAge,
		// Nothing is sent until pipeline.yaml names channels; then failures and drift.
		Notify:            Notify{Pipeline: NotifyFailure, Drift: NotifyDrifted},
		VarFile:           "environments/" + string(name) + ".tfvars",
		PostDeploy:        slices.Clone(AllPostDeployChecks),
		ProjectTagKey:     "Project",
		EnvironmentTagKey: "Environment",
		KPIs:              DefaultTargets,
		Backend: Backend{
			Key:          string(name) + "/terraform.tfstate",
			UseLockfile:  true,
			BackupPrefix: "backups/" + string(name) + "/",
		},
	}
	switch name {
	case Preview:
		p.Validation, p.Import, p.Approval, p.Destroy = Basic, ImportSkip, ApprovalNone, DestroyAllow
		p.SeverityThreshold = findings.Critical
	case Test:
		p.Validation, p.Import, p.Approval, p.Destroy = Standard, ImportFull, ApprovalNone, DestroyAllow
		p.SeverityThreshold = findings.Critical
	case Staging:
		p.Validation, p.Import, p.Approval, p.Destroy = Enhanced, ImportFull, ApprovalNone, DestroyWarn
		p.SeverityThreshold = findings.High
		p.BackupState = true
	case Prod:
		p.Validation, p.Import, p.Approval, p.Destroy = Strict, ImportFullBackup, ApprovalManual, DestroyBlock
		p.SeverityThreshold = findings.Medium
		p.BackupState = true
		p.FailuresBlock = true
		// Production does not ship a change whose cost nobody estimated.
		p.Budget.RequireEstimate = true
	}
	p.Checks = checksFor(p.Validation)
	return p, nil
}

// IsProtected reports whether a resource type is one of the profile's protected types.
func (p Profile) IsProtected(resourceType string) bool {
	for _, t := range p.ProtectedTypes {
		if prefix, ok := strings.CutSuffix(t, "*"); ok {
			if strings.HasPrefix(resourceType, prefix) {
				return true
			}
		} else if t == resourceType {
			return true
		}
	}
	return false
}

// Runs reports whether the profile runs a check.
func (p Profile) Runs(c Check) bool { return slices.Contains(p.Checks, c) }
