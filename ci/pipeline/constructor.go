package pipeline

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/untrusted"
	"github.com/infrapipe/infrapipe/ci/tfversion"
)

// secretVarsEnv and gitCredentialsEnv are the variables that reproduce lines read
// --tf-var-file and --git-credentials from when the call's own reference is not known (a
// secret made in code rather than named on a command line).
const (
	secretVarsEnv     = "SECRET_TFVARS"
	gitCredentialsEnv = "GIT_CREDENTIALS"
)

// Settings are the module constructor's options as the call gave them, defaults filled in
// by `dagger call`. A secret or a service is only given or not: no line ever shows one.
type Settings struct {
	// TerraformDir is "" when not given: PickTerraformDir then picks it.
	TerraformDir string
	// TerraformVersion and TerraformImage are "" when not given: the stack's
	// .terraform-version then picks the image (ci/tfversion), else Defaults.TerraformVersion.
	TerraformVersion, TerraformImage                                string
	TflintImage, CheckovImage, TrivyImage, OpaImage, InfracostImage string
	ComplianceImage, MotoImage, Region                              string
	EmulateAWS, AWSEmulator, TfVarFile, GitCredentials              bool
	AWSEmulatorPort                                                 int
	// AWSEmulatorPorts are the ports --aws-emulator's service exposes (the one in its
	// tcp://host:port address), nil when not known.
	AWSEmulatorPorts []int
	// TfVarFileRef and GitCredentialsRef are the secrets' URIs as the engine has them
	// (env://SECRET_TFVARS), "" when not known: reproduce lines name them as the caller did.
	TfVarFileRef, GitCredentialsRef string
	// AWSAccessKeyID and AWSSecretAccessKey say whether each was given (and not empty).
	AWSAccessKeyID, AWSSecretAccessKey bool
}

// Defaults are the constructor's defaults, the values of its +default pragmas (the module's
// tests hold the two together): reproduce lines leave out what equals them. TerraformDir and
// TerraformVersion are no pragma's: the directory PickTerraformDir tries first, and the
// version of a stack that pins none in .terraform-version.
var Defaults = Settings{
	TerraformDir: "terraform", TerraformVersion: "1.11.4", TflintImage: "ghcr.io/terraform-linters/tflint:v0.64.0",
	CheckovImage: "bridgecrew/checkov:3.2.524", TrivyImage: "aquasec/trivy:0.74.0", OpaImage: "openpolicyagent/opa:1.15.2",
	InfracostImage: "infracost/infracost:ci-0.10", ComplianceImage: "eerkunt/terraform-compliance:1.3.32",
	MotoImage: "motoserver/moto:5.1.22", Region: "us-east-1", AWSEmulatorPort: 5000,
}

// StackOptions are a call's constructor options (Setup.Options) on one stack of the
// repository: its --terraform-dir, which reproduce lines leave out for terraform/, the
// directory a call without it tries first (PickTerraformDir).
func StackOptions(options []string, dir string) []string {
	out := slices.DeleteFunc(slices.Clone(options), func(o string) bool { return strings.HasPrefix(o, "--terraform-dir=") })
	if dir != Defaults.TerraformDir {
		out = append(out, "--terraform-dir="+dir)
	}
	return out
}

// EmulatorSource is where a call's AWS emulator comes from.
type EmulatorSource int

const (
	// NoEmulator is real AWS.
	NoEmulator EmulatorSource = iota
	// StartMoto is --emulate-aws: the module starts moto on the default emulator port.
	StartMoto
	// GivenEmulator is --aws-emulator: the caller's service on --aws-emulator-port.
	GivenEmulator
)

// Setup is what the constructor keeps of its options.
type Setup struct {
	// TerraformDir is the Terraform directory, cleaned, inside the source; "" when
	// --terraform-dir was not given (PickTerraformDir).
	TerraformDir string
	// TerraformImage is the image --terraform-image or --terraform-version names, "" when
	// neither was given: each stack's .terraform-version, else the default, picks it.
	TerraformImage string
	Emulator       EmulatorSource
	// EmulatorPort is the emulator's port, 0 without one.
	EmulatorPort int
	// Options are the constructor flags that differ from the defaults, for reproduce lines.
	Options []string
	// Warning is what the caller should know of options that do nothing, or "".
	Warning string
}

// Configure checks the constructor's options against each other and the defaults (the
// constructor's own, with AWSEmulatorPort moto's port) and says what the module keeps.
func Configure(s, defaults Settings) (Setup, error) {
	if s.TerraformImage != "" && s.TerraformVersion != "" {
		// The version only picks the default image: beside an image of its own it would do nothing.
		return Setup{}, fmt.Errorf("--terraform-image replaces hashicorp/terraform:<--terraform-version>: give one of them (--terraform-version %s, --terraform-image %s)",
			untrusted.Quote(s.TerraformVersion), untrusted.Quote(s.TerraformImage))
	}
	image := s.TerraformImage
	if s.TerraformVersion != "" {
		v, err := tfversion.Parse(s.TerraformVersion)
		if err != nil {
			return Setup{}, fmt.Errorf("--terraform-version: %w", err)
		}
		image = tfversion.Image(v)
	}
	dir := ""
	if s.TerraformDir != "" {
		dir = path.Clean(strings.TrimLeft(s.TerraformDir, "/"))
	}
	if dir == ".." || strings.HasPrefix(dir, "../") {
		return Setup{}, fmt.Errorf("terraform-dir %q leaves the source directory: give a path inside it, e.g. terraform", s.TerraformDir)
	}
	setup := Setup{TerraformDir: dir, TerraformImage: image}
	for _, o := range []struct{ flag, value, def string }{
		{"terraform-dir", s.TerraformDir, ""}, // given, it is kept: a rerun picks no other
		// Given, either wins over the stack's .terraform-version, which the line leaves to the
		// file: even the default's version or image is kept.
		{"terraform-version", s.TerraformVersion, ""},
		{"terraform-image", s.TerraformImage, ""},
		{"tflint-image", s.TflintImage, defaults.TflintImage},
		{"checkov-image", s.CheckovImage, defaults.CheckovImage},
		{"trivy-image", s.TrivyImage, defaults.TrivyImage},
		{"opa-image", s.OpaImage, defaults.OpaImage},
		{"infracost-image", s.InfracostImage, defaults.InfracostImage},
		{"terraform-compliance-image", s.ComplianceImage, defaults.ComplianceImage},
		{"moto-image", s.MotoImage, defaults.MotoImage},
		{"region", s.Region, defaults.Region},
	} {
		if o.value != o.def {
			setup.Options = append(setup.Options, "--"+o.flag+"="+o.value)
		}
	}
	if s.EmulateAWS {
		setup.Options = append(setup.Options, "--emulate-aws")
	}
	if s.TfVarFile {
		// A secret is named, never shown: the reader passes their own file the same way.
		setup.Options = append(setup.Options, "--tf-var-file="+SecretRef(s.TfVarFileRef, secretVarsEnv))
	}
	if s.GitCredentials {
		setup.Options = append(setup.Options, "--git-credentials="+SecretRef(s.GitCredentialsRef, gitCredentialsEnv))
	}
	// The port is named on reproduce lines only when --aws-emulator-port chose it: one the
	// service's address gives is there again when the reader passes the same address.
	portGiven := s.AWSEmulatorPort != defaults.AWSEmulatorPort
	if s.AWSEmulator && len(s.AWSEmulatorPorts) > 0 && !slices.Contains(s.AWSEmulatorPorts, s.AWSEmulatorPort) {
		// The port of --aws-emulator=tcp://localhost:4566 is the emulator's, unless
		// --aws-emulator-port names another it exposes.
		if s.AWSEmulatorPort != defaults.AWSEmulatorPort || len(s.AWSEmulatorPorts) != 1 {
			return Setup{}, fmt.Errorf("--aws-emulator-port %d is not a port --aws-emulator exposes: give one of %s", s.AWSEmulatorPort, portList(s.AWSEmulatorPorts))
		}
		s.AWSEmulatorPort = s.AWSEmulatorPorts[0]
	}
	if s.AWSEmulator {
		// A service cannot be named on a command line; the reader substitutes their own.
		port := strconv.Itoa(s.AWSEmulatorPort)
		setup.Options = append(setup.Options, "--aws-emulator=tcp://localhost:"+port)
		if portGiven {
			setup.Options = append(setup.Options, "--aws-emulator-port="+port)
		}
	}
	switch {
	case !environment.ValidRegion(s.Region):
		return Setup{}, fmt.Errorf("--region %s is not valid: use an AWS region such as eu-west-1", untrusted.Quote(s.Region))
	case s.AWSAccessKeyID != s.AWSSecretAccessKey:
		return Setup{}, fmt.Errorf("--aws-access-key-id and --aws-secret-access-key go together: give both, or neither")
	case !s.AWSEmulator && s.AWSEmulatorPort != defaults.AWSEmulatorPort:
		return Setup{}, fmt.Errorf("--aws-emulator-port is the port of --aws-emulator: give --aws-emulator too (--emulate-aws uses moto's port %d)", defaults.AWSEmulatorPort)
	case s.AWSEmulator && (s.AWSEmulatorPort < 1 || s.AWSEmulatorPort > 65535):
		return Setup{}, fmt.Errorf("--aws-emulator-port %d is not a port: give 1 to 65535", s.AWSEmulatorPort)
	case s.AWSEmulator && s.EmulateAWS:
		return Setup{}, fmt.Errorf("--emulate-aws starts its own emulator and --aws-emulator passes one in: give one of them")
	case s.AWSEmulator:
		setup.Emulator, setup.EmulatorPort = GivenEmulator, s.AWSEmulatorPort
	case s.EmulateAWS:
		setup.Emulator, setup.EmulatorPort = StartMoto, defaults.AWSEmulatorPort
	}
	if setup.Emulator != NoEmulator && s.AWSAccessKeyID {
		// Not an error: a workflow that passes its credentials always may be pointed at an
		// emulator to try it. But nothing reaches AWS, which the caller may not expect.
		setup.Warning = "the AWS credentials given are not used: every AWS call of this run goes to the emulator"
	}
	return setup, nil
}

// PickTerraformDir is the Terraform directory of a call that gives no --terraform-dir:
// terraform/, the layout of this repository and its docs, when it holds Terraform files,
// else the source's root when that does, as a repository of one stack often keeps them; else
// terraform/, which CheckTerraformDir then refuses, naming the directories that have them.
// has says whether a directory of the source holds Terraform configuration files.
func PickTerraformDir(has func(dir string) (bool, error)) (string, error) {
	for _, dir := range []string{Defaults.TerraformDir, "."} {
		ok, err := has(dir)
		if err != nil {
			return "", fmt.Errorf("look for Terraform files in %s: %w", dir, err)
		}
		if ok {
			return dir, nil
		}
	}
	return Defaults.TerraformDir, nil
}

// CheckTerraformDir refuses a Terraform directory that holds no Terraform files (tfFiles:
// the *.tf and *.tf.json directly in it), before any tool runs there: fmt, validate and the
// scanners pass an empty directory, so a typo would read as a clean stack. The error then
// offers the repository's stacks (stackDirs, ci/stacks.Discover's; a local module is no
// candidate) and how to run them, or, when it has none, the directories that have .tf files
// (elsewhere lists the repository's). picked says the directory is PickTerraformDir's, no
// --terraform-dir having been given.
func CheckTerraformDir(dir string, picked bool, tfFiles []string, stackDirs func() []string, elsewhere func() ([]string, error)) error {
	if len(tfFiles) > 0 {
		return nil
	}
	none := fmt.Sprintf("--terraform-dir %s: no Terraform files (*.tf) there", untrusted.Quote(dir))
	if picked {
		none = "no --terraform-dir given, and neither terraform/ nor the root of --source has Terraform files (*.tf)"
	}
	if dirs := stackDirs(); len(dirs) > 0 {
		return fmt.Errorf("%s; the repository's stacks are %s: pass --terraform-dir=<one of them>, or run them with pipeline --stacks=all (or --stacks=changed --changed-files=<file>, those a change touches)",
			none, list(dirs))
	}
	files, err := elsewhere()
	if err != nil {
		return fmt.Errorf("%s; looking for them elsewhere: %w", none, err)
	}
	var dirs []string
	for _, f := range files {
		if d := path.Dir(f); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	if len(dirs) == 0 {
		return fmt.Errorf("%s, nor anywhere in --source", none)
	}
	slices.Sort(dirs)
	return fmt.Errorf("%s; directories of --source that have them: %s: pass --terraform-dir=<one of them>", none, list(dirs))
}

// list is dirs as an error names them: the first five, and how many more.
func list(dirs []string) string {
	if len(dirs) > 5 {
		return strings.Join(dirs[:5], ", ") + fmt.Sprintf(" (and %d more)", len(dirs)-5)
	}
	return strings.Join(dirs, ", ")
}

// portList is ports as a reader writes them: 4566, 4571.
func portList(ports []int) string {
	out := make([]string, len(ports))
	for i, p := range ports {
		out[i] = strconv.Itoa(p)
	}
	return strings.Join(out, ", ")
}

// SecretRef is how a command line names a secret whose URI the engine gives (Secret.URI):
// env://NAME as env:NAME and file://PATH as file:PATH, as the caller wrote them. Any other
// (cmd:, whose command line may hold a value; a provider's URI) and a secret of unknown
// origin (uri "") are env:fallbackEnv, the variable the docs tell the reader to set. A
// value is never part of it.
func SecretRef(uri, fallbackEnv string) string {
	for _, scheme := range []string{"env", "file"} {
		if rest, ok := strings.CutPrefix(uri, scheme+"://"); ok && rest != "" {
			return scheme + ":" + rest
		}
	}
	return "env:" + fallbackEnv
}
