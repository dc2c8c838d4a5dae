package environment

import (
	"fmt"
	"math"
	"time"
)

// Targets are the KPI targets `kpis` holds an environment's runs to. Rates and the cost
// variance are percentages.
type Targets struct {
	// SuccessRate: deployments that pass (or only warn), more than this share.
	SuccessRate float64 `json:"success_rate"`
	// DeployTime: a successful deployment's mean duration, under this.
	DeployTime time.Duration `json:"deploy_time"`
	// RecoveryTime: the mean time from a failed deployment to the next success, under this.
	RecoveryTime time.Duration `json:"recovery_time"`
	// ScanPassRate and CompliancePassRate: runs whose security scan (compliance) step did
	// not block, at least this share.
	ScanPassRate       float64 `json:"scan_pass_rate"`
	CompliancePassRate float64 `json:"compliance_pass_rate"`
	// CriticalFindings: unsuppressed critical findings in the latest scanned run, at most.
	CriticalFindings int `json:"critical_findings"`
	// CostVariance: how far AWS's bill may be from Infracost's estimate, at most.
	CostVariance float64 `json:"cost_variance"`
}

// DefaultTargets are the numbers deployment reviews are built on.
var DefaultTargets = Targets{
	SuccessRate:        99,
	DeployTime:         15 * time.Minute,
	RecoveryTime:       30 * time.Minute,
	ScanPassRate:       100,
	CompliancePassRate: 100,
	CriticalFindings:   0,
	CostVariance:       10,
}

// targetsFile is pipeline.yaml's kpis block; an absent key keeps the default.
type targetsFile struct {
	SuccessRate        *float64 `yaml:"success_rate"`
	DeployTime         *string  `yaml:"deploy_time"`
	RecoveryTime       *string  `yaml:"recovery_time"`
	ScanPassRate       *float64 `yaml:"scan_pass_rate"`
	CompliancePassRate *float64 `yaml:"compliance_pass_rate"`
	CriticalFindings   *int     `yaml:"critical_findings"`
	CostVariance       *float64 `yaml:"cost_variance"`
}

func (f *targetsFile) applyTo(t *Targets, at string) error {
	for _, p := range []struct {
		key string
		v   *float64
		dst *float64
	}{
		{"success_rate", f.SuccessRate, &t.SuccessRate},
		{"scan_pass_rate", f.ScanPassRate, &t.ScanPassRate},
		{"compliance_pass_rate", f.CompliancePassRate, &t.CompliancePassRate},
		{"cost_variance", f.CostVariance, &t.CostVariance},
	} {
		if p.v == nil {
			continue
		}
		if math.IsNaN(*p.v) || *p.v < 0 || *p.v > 100 {
			return fmt.Errorf("%s.%s: %v is not valid: use a percentage from 0 to 100", at, p.key, *p.v)
		}
		*p.dst = *p.v
	}
	for _, d := range []struct {
		key string
		v   *string
		dst *time.Duration
	}{{"deploy_time", f.DeployTime, &t.DeployTime}, {"recovery_time", f.RecoveryTime, &t.RecoveryTime}} {
		if d.v == nil {
			continue
		}
		v, err := time.ParseDuration(*d.v)
		if err != nil || v < time.Second || v > 7*24*time.Hour {
			return fmt.Errorf("%s.%s: %q is not valid: use a duration from 1s to 168h, e.g. \"15m\"", at, d.key, *d.v)
		}
		*d.dst = v
	}
	if f.CriticalFindings != nil {
		if *f.CriticalFindings < 0 || *f.CriticalFindings > 1_000_000 {
			return fmt.Errorf("%s.critical_findings: %d is not valid: use a count from 0 up", at, *f.CriticalFindings)
		}
		t.CriticalFindings = *f.CriticalFindings
	}
	return nil
}
