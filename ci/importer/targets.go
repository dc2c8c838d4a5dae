package importer

import (
	"fmt"
	"strings"

	"github.com/infrapipe/infrapipe/ci/discovery"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
)

// GeneratedFile is where the plan writes the configuration of imports that have none.
const GeneratedFile = "generated.tf"

// TargetArgs are the plan flags of the import plan: -target for each import, so the plan
// changes nothing but the imports, and -generate-config-out when some have no
// configuration.
func (p *Plan) TargetArgs() []string {
	var args []string
	for _, e := range p.Imports() {
		args = append(args, "-target="+e.Address)
	}
	if p.GenerateConfigOut {
		args = append(args, "-generate-config-out="+GeneratedFile)
	}
	return args
}

// BackupError is the failed state backup taken before --force removes p.StateRemovals from
// env's state: nothing was changed yet.
func (p *Plan) BackupError(env environment.Name, err error) error {
	return fmt.Errorf("state backup before --force removes %d addresses from the %s state (nothing was changed): %w",
		len(p.StateRemovals), env, err)
}

// CheckProject refuses an import without --project: discovery finds resources by the
// project tag, and without a value it would match nothing or everything. A value AWS cannot
// hold as a tag value (blank, padded, over 256 characters) would match nothing.
func CheckProject(project string, profile environment.Profile) error {
	switch {
	case project == "":
		return fmt.Errorf("--project is required: the value of the %s tag that marks this project's resources", profile.ProjectTagKey)
	case strings.TrimSpace(project) != project || len(project) > 256:
		return fmt.Errorf("--project %s is no %s tag value: give 1 to 256 characters without leading or trailing spaces", untrusted.Quote(project), profile.ProjectTagKey)
	}
	return nil
}

// CheckEnabled refuses an import into an environment that does not import (Enabled).
func CheckEnabled(env environment.Name, profile environment.Profile) error {
	if !Enabled(profile) {
		return fmt.Errorf("%s does not import (import strategy %q: its resources are ephemeral); import into test, staging or prod", env, profile.Import)
	}
	return nil
}

// RequestFor is the import request of project in profile's environment: discovery by its
// tags in region, through endpoint ("" for AWS itself), mapped with opts.
func RequestFor(profile environment.Profile, project, region, endpoint string, opts Options) Request {
	cfg := discovery.ConfigFor(profile, project)
	cfg.Region, cfg.Endpoint = region, endpoint
	return Request{Discovery: cfg, Options: opts}
}
