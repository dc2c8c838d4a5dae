// Package environment describes the pipeline's environments (preview, test, staging, prod)
// as data, loads a repository's overrides, and resolves which one a run targets.
package environment

import (
	"slices"
	"time"

	"github.com/infrapipe/infrapipe/ci/findings"
)

// Name is a validated environment name.
type Name string

const (
	Preview Name = "preview"
	Test    Name = "test"
	Staging Name = "staging"
	Prod    Name = "prod"
)

// Names lists the environments in promotion order, each stricter than the last.
var Names = []Name{Preview, Test, Staging, Prod}

// Validation is how much checking a plan gets before it may be applied.
type Validation string

const (
	Basic    Validation = "basic"    // fmt, validate, the stack's terraform test
	Standard Validation = "standard" // + lint, security scan
	Enhanced Validation = "enhanced" // + compliance, cost
	Strict   Validation = "strict"   // all of them, and any failure blocks
)

// Check is one validation step of the pipeline.
type Check string

const (
	CheckFmt        Check = "fmt"
	CheckValidate   Check = "validate"
	CheckLint       Check = "lint"
	CheckSecurity   Check = "security"
	CheckCompliance Check = "compliance"
	CheckCost       Check = "cost"
)

// Channel is a kind of place a notification goes; its URL is a secret (--notify-webhooks).
type Channel string

// The channels.
const (
	ChannelSlack   Channel = "slack"   // a Slack incoming webhook (Block Kit)
	ChannelTeams   Channel = "teams"   // a Microsoft Teams workflow webhook (Adaptive Card)
	ChannelWebhook Channel = "webhook" // any endpoint taking infrapipe's JSON payload
)

// Channels are the channels in the order they are tried.
var Channels = []Channel{ChannelSlack, ChannelTeams, ChannelWebhook}

// When says which outcomes of a run notify.
type When string

// The choices: always, never, a pipeline that blocks, a drift check that found drift (or
// could not run).
const (
	NotifyAlways  When = "always"
	NotifyFailure When = "failure"
	NotifyDrifted When = "drifted"
	NotifyNever   When = "never"
)

// Notify is where and when an environment's runs are announced.
type Notify struct {
	Channels []Channel `json:"channels"`
	Pipeline When      `json:"pipeline"`
	Drift    When      `json:"drift"`
}

// Notifies reports whether a run of check ("pipeline" or "drift") with verdict is announced.
func (n Notify) Notifies(check string, verdict string) bool {
	when := n.Pipeline
	if check == "drift" {
		when = n.Drift
	}
	switch when {
	case NotifyAlways:
		return true
	case NotifyFailure:
		return verdict == "block"
	case NotifyDrifted:
		return verdict != "pass"
	}
	return false
}

// PostDeployCheck is one category of the checks `test` runs on a deployed environment.
type PostDeployCheck string

const (
	PostDeployConverged  PostDeployCheck = "converged"  // a fresh plan has nothing to do
	PostDeployDeployment PostDeployCheck = "deployment" // every managed resource exists in the account
	PostDeploySecurity   PostDeployCheck = "security"   // encryption and public access as configured, per the API
	PostDeployOutputs    PostDeployCheck = "outputs"    // terraform output reads
	PostDeployHealth     PostDeployCheck = "health"     // *_url and *_endpoint outputs answer
	PostDeployMonitoring PostDeployCheck = "monitoring" // alarms exist and notify a subscribed topic
)

// AllPostDeployChecks are the categories, in the order they run; every environment runs
// them all unless pipeline.yaml's post_deploy names fewer (a stack without alarms drops
// monitoring instead of failing every run).
var AllPostDeployChecks = []PostDeployCheck{PostDeployConverged, PostDeployDeployment, PostDeploySecurity,
	PostDeployOutputs, PostDeployHealth, PostDeployMonitoring}

// ImportStrategy says whether existing cloud resources are discovered and imported.
type ImportStrategy string

const (
	ImportSkip       ImportStrategy = "skip"        // ephemeral environments own nothing
	ImportFull       ImportStrategy = "full"        // discover by tags and import
	ImportFullBackup ImportStrategy = "full-backup" // the same, after a state backup
)

// DestroyPolicy says what the safety gate does with deletes and replacements.
type DestroyPolicy string

const (
	DestroyAllow DestroyPolicy = "allow"
	DestroyWarn  DestroyPolicy = "warn"
	DestroyBlock DestroyPolicy = "block" // unless --force-recreate
)

// Approval says whether a human approves before apply (a GitHub environment rule).
type Approval string

const (
	ApprovalNone   Approval = "none"
	ApprovalManual Approval = "manual"
)

// Budget bounds the monthly cost Infracost estimates; zero means no bound.
type Budget struct {
	MonthlyTotal float64 `json:"monthly_total,omitempty" yaml:"monthly_total,omitempty"`
	MonthlyDelta float64 `json:"monthly_delta,omitempty" yaml:"monthly_delta,omitempty"`
	// RequireEstimate fails the cost step when no estimate could be made (no API key).
	RequireEstimate bool `json:"require_estimate,omitempty" yaml:"require_estimate,omitempty"`
}

// Backend is the S3 state backend of one environment; every environment has its own key.
type Backend struct {
	Bucket        string `json:"bucket,omitempty" yaml:"bucket,omitempty"`
	Key           string `json:"key,omitempty" yaml:"key,omitempty"`
	Region        string `json:"region,omitempty" yaml:"region,omitempty"`
	UseLockfile   bool   `json:"use_lockfile,omitempty" yaml:"use_lockfile,omitempty"`
	DynamoDBTable string `json:"dynamodb_table,omitempty" yaml:"dynamodb_table,omitempty"`
	// BackupPrefix is where state backups go in Bucket, e.g. "backups/prod/".
	BackupPrefix string `json:"backup_prefix,omitempty" yaml:"backup_prefix,omitempty"`
}

// URL names the state object, s3://<bucket>/<key>, for summaries; "" without a bucket.
func (b Backend) URL() string {
	if b.Bucket == "" {
		return ""
	}
	return "s3://" + b.Bucket + "/" + b.Key
}

// RegionOr is the environment's region, or fallback (the module's --region) when
// pipeline.yaml sets none.
func (p Profile) RegionOr(fallback string) string {
	if p.Region != "" {
		return p.Region
	}
	return fallback
}

// RunsPostDeploy reports whether the profile asks for a post-deploy check category.
func (p Profile) RunsPostDeploy(c PostDeployCheck) bool { return slices.Contains(p.PostDeploy, c) }

// Profile is everything the pipeline decides per environment.
type Profile struct {
	Name        Name           `json:"name"`
	Validation  Validation     `json:"validation"`
	Checks      []Check        `json:"checks"` // derived from Validation plus extra checks
	Import      ImportStrategy `json:"import"`
	Approval    Approval       `json:"approval"`
	Destroy     DestroyPolicy  `json:"destroy"`
	BackupState bool           `json:"backup_state"` // state pulled and kept before apply
	// FailuresBlock makes every failed check block the pipeline; otherwise findings under
	// the severity threshold only warn.
	FailuresBlock     bool              `json:"failures_block"`
	SeverityThreshold findings.Severity `json:"severity_threshold"` // findings at or above fail
	Budget            Budget            `json:"budget"`
	// ProtectedTypes are stateful resource types whose delete or replace is called out in
	// every environment (databases, buckets, tables by default).
	ProtectedTypes []string      `json:"protected_types"`
	LockTimeout    time.Duration `json:"lock_timeout"`
	// Notify says where and when a run is announced.
	Notify Notify `json:"notify"`
	// PlanMaxAge is how old a stored plan (plan --store-plan) may be when it is applied.
	PlanMaxAge time.Duration `json:"plan_max_age"`
	VarFile    string        `json:"var_file"` // relative to the Terraform directory
	// Region is where the environment's resources live: the providers' default region,
	// discovery and the post-deploy checks. "" is the module's --region. The backend's
	// region is the state bucket's only, which often sits elsewhere.
	Region string `json:"region,omitempty"`
	// VarFileSet says pipeline.yaml named VarFile: the stack must have that file, where the
	// built-in one is read only when it exists (a stack may need no variables).
	VarFileSet bool `json:"var_file_set,omitempty"`
	// PostDeploy are the categories of checks `test` runs after an apply.
	PostDeploy []PostDeployCheck `json:"post_deploy"`
	Backend    Backend           `json:"backend"`
	// TagKeys name the tags that discovery filters on.
	ProjectTagKey     string `json:"project_tag_key"`
	EnvironmentTagKey string `json:"environment_tag_key"`
	// KPIs are the targets `kpis` reports this environment's runs against.
	KPIs Targets `json:"kpis"`
}
