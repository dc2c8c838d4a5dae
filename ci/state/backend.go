// Package state keeps Terraform state safe: it checks each environment's S3 backend before
// init, turns a held lock into the exact force-unlock command, takes checksummed backups,
// restores them only into the state they came from, and reports drift.
package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// Endpoints points the S3 backend (and the backup client) at an AWS emulator such as
// moto_server. All empty in real AWS, where the backend must not skip any validation.
type Endpoints struct {
	S3       string `json:"s3,omitempty"`
	STS      string `json:"sts,omitempty"`
	DynamoDB string `json:"dynamodb,omitempty"`
}

// IsZero reports whether no endpoint is overridden.
func (e Endpoints) IsZero() bool { return e == Endpoints{} }

var (
	// bucketName follows the S3 bucket naming rules (no uppercase, no underscores).
	bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	// regionName matches us-east-1, eu-central-2, us-gov-west-1, ap-southeast-4 and the like.
	regionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	// keyChars are S3's safe object-key characters; anything else (spaces, "${") would need
	// escaping in a .tfbackend file and is a typo more often than not.
	keyChars = regexp.MustCompile(`^[A-Za-z0-9!_.*'()/=:-]+$`)
)

// ValidateBackend checks one environment's backend before terraform init, so a mistyped or
// copied setting fails with the environment and the key named instead of quietly opening
// someone else's state.
func ValidateBackend(env environment.Name, b environment.Backend) error {
	if _, err := environment.ParseName(string(env)); err != nil {
		return fmt.Errorf("backend: %w", err)
	}
	var errs []error
	missing := func(key string) {
		errs = append(errs, fmt.Errorf("backend of %s: %s is missing (set defaults.backend.%s, or environments.%s.backend.%s, in pipeline.yaml next to the Terraform code; a new one starts with \"version: 1\")", env, key, key, env, key))
	}
	switch {
	case b.Bucket == "":
		missing("bucket")
	case !bucketName.MatchString(b.Bucket) || strings.Contains(b.Bucket, ".."):
		errs = append(errs, fmt.Errorf("backend of %s: bucket %q is not a valid S3 bucket name (3-63 characters: lowercase letters, digits, dots, hyphens)", env, b.Bucket))
	}
	switch {
	case b.Key == "":
		missing("key")
	case strings.HasPrefix(b.Key, "/") || strings.HasSuffix(b.Key, "/"):
		errs = append(errs, fmt.Errorf("backend of %s: key %q must not start or end with \"/\"", env, b.Key))
	case !keyChars.MatchString(b.Key):
		errs = append(errs, fmt.Errorf("backend of %s: key %q has characters outside letters, digits and !-_.*'()/=:", env, b.Key))
	default:
		if err := keyNamesEnv(env, "key", b.Key); err != nil {
			errs = append(errs, err)
		}
	}
	switch {
	case b.Region == "":
		missing("region")
	case !regionName.MatchString(b.Region):
		errs = append(errs, fmt.Errorf("backend of %s: region %q is not an AWS region name such as us-east-1", env, b.Region))
	}
	if !b.UseLockfile && b.DynamoDBTable == "" {
		errs = append(errs, fmt.Errorf("backend of %s: no state locking: set use_lockfile: true (or dynamodb_table)", env))
	}
	if b.BackupPrefix != "" {
		if err := keyNamesEnv(env, "backup_prefix", b.BackupPrefix); err != nil {
			errs = append(errs, err)
		}
		if b.Key != "" && strings.HasPrefix(b.Key, strings.TrimSuffix(b.BackupPrefix, "/")+"/") {
			errs = append(errs, fmt.Errorf("backend of %s: key %q lies under backup_prefix %q; keep backups apart from live state", env, b.Key, b.BackupPrefix))
		}
	}
	return errors.Join(errs...)
}

// ValidateBackends checks every environment's backend and, across them, that no two
// environments share a state object: two environments writing one state destroy each
// other's resources on the next apply.
func ValidateBackends(backends map[environment.Name]environment.Backend) error {
	envs := make([]environment.Name, 0, len(backends))
	for env := range backends {
		envs = append(envs, env)
	}
	sort.Slice(envs, func(i, j int) bool { return envs[i] < envs[j] })
	var errs []error
	owner := map[string]environment.Name{}
	for _, env := range envs {
		b := backends[env]
		if err := ValidateBackend(env, b); err != nil {
			errs = append(errs, err)
		}
		if b.Bucket == "" || b.Key == "" {
			continue
		}
		object := b.Bucket + "/" + b.Key
		if other, ok := owner[object]; ok {
			errs = append(errs, fmt.Errorf("backend: %s and %s share the state key %s; every environment needs its own key", other, env, object))
			continue
		}
		owner[object] = env
	}
	return errors.Join(errs...)
}

// keyNamesEnv refuses a key that names another environment (prod pointed at ".../test/...")
// and one that names none, since only a visible environment name makes a mix-up visible.
func keyNamesEnv(env environment.Name, field, key string) error {
	other, own := keyEnvironments(env, key)
	if other != "" {
		return fmt.Errorf("backend of %s: %s %q names environment %q; refusing to run %s against another environment's state", env, field, key, other, env)
	}
	if !own {
		example := path.Join(path.Dir(key), string(env), path.Base(key))
		if strings.HasSuffix(key, "/") {
			example = key + string(env) + "/"
		}
		return fmt.Errorf("backend of %s: %s %q does not name the environment; use e.g. %q", env, field, key, example)
	}
	return nil
}

// keyEnvironments reads the environment names among key's words: the first that is not
// env ("" when none), and whether env is among them.
func keyEnvironments(env environment.Name, key string) (other environment.Name, own bool) {
	for _, word := range strings.FieldsFunc(key, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		word = strings.ToLower(word)
		for _, n := range environment.Names {
			switch {
			case word != string(n):
			case n != env:
				return n, own
			default:
				own = true
			}
		}
	}
	return "", own
}

// Setting is one backend argument as terraform init takes it.
type Setting struct {
	Key   string
	Value string // already in HCL syntax: "quoted" strings, true, { map = "..." }
}

// BackendSettings lists the S3 backend arguments for one environment in a fixed order. With
// endpoints set it adds path-style addressing and the skip_* options an emulator needs;
// without them nothing is skipped.
func BackendSettings(b environment.Backend, ep Endpoints) []Setting {
	s := []Setting{
		{"bucket", quote(b.Bucket)},
		{"key", quote(b.Key)},
		{"region", quote(b.Region)},
		{"encrypt", "true"},
	}
	if b.UseLockfile {
		s = append(s, Setting{"use_lockfile", "true"})
	}
	if b.DynamoDBTable != "" {
		s = append(s, Setting{"dynamodb_table", quote(b.DynamoDBTable)})
	}
	if ep.IsZero() {
		return s
	}
	var parts []string
	for _, e := range []struct{ name, url string }{{"dynamodb", ep.DynamoDB}, {"s3", ep.S3}, {"sts", ep.STS}} {
		if e.url != "" {
			parts = append(parts, e.name+" = "+quote(e.url))
		}
	}
	return append(s,
		Setting{"endpoints", "{ " + strings.Join(parts, ", ") + " }"},
		Setting{"use_path_style", "true"},
		Setting{"skip_credentials_validation", "true"},
		Setting{"skip_metadata_api_check", "true"},
		Setting{"skip_region_validation", "true"},
		Setting{"skip_requesting_account_id", "true"},
		Setting{"skip_s3_checksum", "true"},
	)
}

// TFBackend renders the settings as a .tfbackend file for `terraform init -backend-config=FILE`;
// a file keeps map values (endpoints) unambiguous, which -backend-config=key=value flags do not.
func TFBackend(b environment.Backend, ep Endpoints) string {
	settings := BackendSettings(b, ep)
	width := 0
	for _, s := range settings {
		width = max(width, len(s.Key))
	}
	var sb strings.Builder
	for _, s := range settings {
		fmt.Fprintf(&sb, "%-*s = %s\n", width, s.Key, s.Value)
	}
	return sb.String()
}

// InitArgs is the terraform init command line for one environment: validated first, so a
// bad backend never reaches init. backendFile is the path of the TFBackend file.
func InitArgs(env environment.Name, b environment.Backend, backendFile string) ([]string, error) {
	if err := ValidateBackend(env, b); err != nil {
		return nil, err
	}
	return []string{"init", "-input=false", "-no-color", "-reconfigure", "-backend-config=" + backendFile}, nil
}

// Init is terraform init's command line for an environment and the contents of its
// backend file, which the caller writes at the path the arguments name.
type Init struct {
	Args    []string
	Backend string
}

// PrepareInit checks, before init, that env's backend is the one pipeline.yaml describes
// (ValidateBackend, CheckDeclaredBackend on the root module's files, CheckBackendFiles on
// the stack directory dir that read reads), and returns the init that sets it up, its
// backend file to be written at backendFile: a prod run pointed at another environment's
// state never reaches init. After init, CheckInitializedBackend reads what it set up.
func PrepareInit(env environment.Name, b environment.Backend, code map[string][]byte, read environment.ReadFile, dir, backendFile string, ep Endpoints) (Init, error) {
	if err := CheckDeclaredBackend(env, b, code); err != nil {
		return Init{}, err
	}
	if err := CheckBackendFiles(env, b, read, dir); err != nil {
		return Init{}, err
	}
	args, err := InitArgs(env, b, backendFile)
	if err != nil {
		return Init{}, err
	}
	return Init{Args: args, Backend: TFBackend(b, ep)}, nil
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// CheckInitializedBackend reads the backend `terraform init` set up (the contents of
// .terraform/terraform.tfstate; empty when init wrote none) and refuses anything but the S3
// backend pipeline.yaml describes (init's -backend-config sets its bucket and key, over
// anything the block says). A configuration without `backend "s3" {}` initialises
// the local backend with only a warning, and its apply then keeps the state in a
// container that is thrown away.
func CheckInitializedBackend(env environment.Name, data []byte) error {
	fix := fmt.Sprintf("declare `terraform { backend \"s3\" {} }` in the configuration; the pipeline fills in %s's bucket, key and region from pipeline.yaml", env)
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("the configuration declares no backend, so %s's state would be lost after the run: %s", env, fix)
	}
	var got struct {
		Backend *struct {
			Type string `json:"type"`
		} `json:"backend"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		return fmt.Errorf("read the backend terraform init set up for %s: %w", env, err)
	}
	switch {
	case got.Backend == nil || got.Backend.Type == "" || got.Backend.Type == "local":
		return fmt.Errorf("the configuration declares no backend, so %s's state would be lost after the run: %s", env, fix)
	case got.Backend.Type != "s3":
		return fmt.Errorf("the configuration declares backend %q, but pipeline.yaml describes an S3 backend for %s: %s", got.Backend.Type, env, fix)
	}
	return nil
}
