package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// engineVar is set (by .ci/engine.sh's env file) when a Dagger engine is reachable.
const engineVar = "INFRAPIPE_ENGINE"

// stateBucket is the backend bucket of the stacks' pipeline.yaml.
const stateBucket = "e2e-terraform-state"

// requireEngine skips the test when no engine is configured, so `go test ./...` passes
// on machines without one.
func requireEngine(t *testing.T) {
	t.Helper()
	if os.Getenv(engineVar) == "" {
		t.Skipf("%s is not set: these tests run `dagger call` against a Dagger engine; source the env file of .ci/engine.sh (or run .ci/e2e.sh)", engineVar)
	}
	if _, err := exec.LookPath("dagger"); err != nil {
		t.Fatalf("%s is set but the dagger CLI is not on PATH: %v", engineVar, err)
	}
}

// repoRoot is the repository root, where `dagger call` finds the module (dagger.json).
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dagger.json")); err != nil {
		t.Fatalf("no dagger.json at the repository root %s: %v", dir, err)
	}
	return dir
}

// unique returns a short random lowercase name part, so every test's names differ.
func unique(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Stack is a copy of a testdata stack in a temporary directory.
type Stack struct {
	Dir     string
	Project string // the project variable: prefixes every resource name, the Project tag
}

// newStack copies testdata/stacks/<name> into a temporary directory and gives it a unique
// project (environments/<env>.tfvars of test, staging and prod).
func newStack(t *testing.T, name string) *Stack {
	t.Helper()
	s := &Stack{Dir: t.TempDir(), Project: "e2e-" + unique(t)}
	src := filepath.Join("testdata", "stacks", name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(s.Dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy stack %s: %v", name, err)
	}
	for _, env := range []string{"test", "staging", "prod"} {
		s.SetVars(t, env, nil)
	}
	return s
}

// SetVars writes environments/<env>.tfvars: the project and environment, then vars.
func (s *Stack) SetVars(t *testing.T, env string, vars map[string]string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "project     = %q\nenvironment = %q\n", s.Project, env)
	for k, v := range vars {
		fmt.Fprintf(&b, "%s = %q\n", k, v)
	}
	s.Write(t, filepath.Join("environments", env+".tfvars"), b.String())
}

// Write replaces one file of the stack.
func (s *Stack) Write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.Dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ShortLockTimeouts writes a pipeline.yaml (the e2e state bucket, S3 lock file) in which
// envs give up on a held lock after timeout, so a test sees the lock error at once.
func (s *Stack) ShortLockTimeouts(t *testing.T, timeout string, envs ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("version: 1\ndefaults:\n  backend:\n    bucket: " + stateBucket + "\n    region: us-east-1\n    use_lockfile: true\nenvironments:\n")
	for _, env := range envs {
		b.WriteString("  " + env + ":\n    lock_timeout: " + timeout + "\n")
	}
	s.Write(t, "pipeline.yaml", b.String())
}

// Copy is a second copy of the stack (same project), e.g. to change a variable while the
// first copy stays as it was.
func (s *Stack) Copy(t *testing.T) *Stack {
	t.Helper()
	c := &Stack{Dir: t.TempDir(), Project: s.Project}
	if err := os.CopyFS(c.Dir, os.DirFS(s.Dir)); err != nil {
		t.Fatalf("copy stack: %v", err)
	}
	return c
}

// eventFile writes a GitHub event payload for --github-event and returns its path.
func eventFile(t *testing.T, payload string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(path, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Ctor is the constructor part of a dagger call line: --source and --terraform-dir.
func (s *Stack) Ctor(extra ...string) []string {
	return append([]string{"--source=" + s.Dir, "--terraform-dir=."}, extra...)
}

// Result is one finished `dagger call`.
type Result struct {
	Args           []string
	Stdout, Stderr string
	Err            error // non-nil when dagger exited non-zero
	Duration       time.Duration
}

// Output is stdout and stderr together, for messages that may land in either.
func (r Result) Output() string { return r.Stdout + "\n" + r.Stderr }

// call runs `dagger call --progress=plain <args>` from the repository root. env adds
// variables (e.g. SECRET_TFVARS).
func call(t *testing.T, env []string, args ...string) Result {
	t.Helper()
	full := append([]string{"call", "--progress=plain"}, args...)
	return runDagger(t, repoRoot(t), env, full)
}

// engineFlakes are failures of the engine itself before the module's function ran (seen on
// the host-run v0.19.10 engine when several calls load the module at once): such a call is
// run again, at most twice. Nothing of the function has run, so a retry changes nothing.
var engineFlakes = []string{
	"failed to serve module: failed to initialize module",
	"call constructor: failed to mount /tmp/buildkit-mount",
	"engine.sock: connect: connection refused",
	// The engine lost the CLI's session while loading the module from the host (stop 27's CI).
	"failed to get configured module: failed to stat local path: failed to stat path: failed to get requester session",
}

func engineFlake(stderr string) bool {
	for _, f := range engineFlakes {
		if strings.Contains(stderr, f) {
			return true
		}
	}
	return false
}

// runDagger runs `dagger <full>` in dir (where the CLI finds dagger.json), retrying the
// engine's own failures (engineFlake).
func runDagger(t *testing.T, dir string, env []string, full []string) Result {
	t.Helper()
	for attempt := 1; ; attempt++ {
		res := runDaggerOnce(t, dir, env, full)
		if res.Err == nil || attempt == 3 || !engineFlake(res.Stderr) {
			return res
		}
		t.Logf("the engine failed before the function ran (attempt %d), retrying: %s", attempt, lastLines(res.Stderr, 1))
		time.Sleep(5 * time.Second)
	}
}

func runDaggerOnce(t *testing.T, dir string, env []string, full []string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "dagger", full...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := Result{Args: full, Stdout: stdout.String(), Stderr: stderr.String(), Err: err, Duration: time.Since(start)}
	status := "ok"
	if err != nil {
		status = err.Error()
	}
	t.Logf("dagger %s: %s in %s", strings.Join(full, " "), status, res.Duration.Round(time.Second))
	return res
}

// TestMain loads the module once before the tests run in parallel, so they do not all
// build it at once (and a module that does not load fails fast, once).
func TestMain(m *testing.M) {
	if os.Getenv(engineVar) != "" {
		cmd := exec.Command("dagger", "functions", "--progress=plain")
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: the module does not load (dagger functions): %v\n%s\n", err, lastLines(string(out), 30))
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// mustCall is call that fails the test when dagger fails, showing the end of its output.
func mustCall(t *testing.T, env []string, args ...string) Result {
	t.Helper()
	res := call(t, env, args...)
	if res.Err != nil {
		t.Fatalf("dagger call %s failed: %v\n%s", strings.Join(args, " "), res.Err, lastLines(res.Stderr, 60))
	}
	return res
}

// mustFail is call that fails the test when dagger succeeds.
func mustFail(t *testing.T, env []string, args ...string) Result {
	t.Helper()
	res := call(t, env, args...)
	if res.Err == nil {
		t.Fatalf("dagger call %s succeeded, want a failure\n%s", strings.Join(args, " "), lastLines(res.Stdout, 40))
	}
	return res
}

// export appends `export --path=<new temp dir>` to args, runs the call and returns the dir.
func export(t *testing.T, env []string, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	mustCall(t, env, append(args, "export", "--path="+dir)...)
	return dir
}

// lastLines is the end of a long output, for failure messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// readFile reads a file of an exported directory.
func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(data)
}

// resultJSON is the part of a result.json the tests read (plan, apply, pipeline, drift).
type resultJSON struct {
	Env     string   `json:"env"`
	Verdict string   `json:"verdict"`
	Reasons []string `json:"reasons"`
	Counts  map[string]int
	Changes []struct {
		Address string   `json:"address"`
		Kind    string   `json:"kind"`
		Actions []string `json:"actions"`
	} `json:"changes"`
	Steps []struct {
		Name    string   `json:"name"`
		Verdict string   `json:"verdict"`
		Reasons []string `json:"reasons"`
	} `json:"steps"`
}

func readResult(t *testing.T, dir string) resultJSON {
	t.Helper()
	var r resultJSON
	if err := json.Unmarshal([]byte(readFile(t, dir, "result.json")), &r); err != nil {
		t.Fatalf("result.json of %s: %v", dir, err)
	}
	return r
}

// Moto is a moto_server on the host, reached from the engine through a host service
// (--aws-emulator=tcp://localhost:PORT). ci/internal/mototest does the same for ci/, but
// Go's internal rule keeps it out of reach from here.
type Moto struct {
	URL  string
	Port int
	Log  string // moto_server's request log
	cmd  *exec.Cmd
}

// startMoto starts moto_server on a free loopback port and stops it when the test ends.
func startMoto(t *testing.T) *Moto {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("moto_server is not installed: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	m := &Moto{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Port: port, Log: filepath.Join(t.TempDir(), "moto.log")}
	logf, err := os.Create(m.Log)
	if err != nil {
		t.Fatal(err)
	}
	m.cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		_ = m.cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(m.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer on %s within 30s: %v", m.URL, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Ctor is the constructor flags that point the module at this moto.
func (m *Moto) Ctor() []string {
	return []string{fmt.Sprintf("--aws-emulator=tcp://localhost:%d", m.Port), fmt.Sprintf("--aws-emulator-port=%d", m.Port)}
}

// Requests counts the request lines in moto's log that contain every one of parts.
func (m *Moto) Requests(t *testing.T, parts ...string) int {
	t.Helper()
	data, err := os.ReadFile(m.Log)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			n++
		}
	}
	return n
}

func (m *Moto) config() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(m.URL),
	}
}

func (m *Moto) S3() *s3.Client {
	return s3.NewFromConfig(m.config(), func(o *s3.Options) { o.UsePathStyle = true })
}
func (m *Moto) DynamoDB() *dynamodb.Client { return dynamodb.NewFromConfig(m.config()) }
func (m *Moto) SNS() *sns.Client           { return sns.NewFromConfig(m.config()) }

// tfState is the part of a Terraform state the tests read.
type tfState struct {
	Version   int    `json:"version"`
	Serial    int    `json:"serial"`
	Lineage   string `json:"lineage"`
	Resources []struct {
		Mode      string `json:"mode"`
		Type      string `json:"type"`
		Name      string `json:"name"`
		Instances []struct {
			Attributes map[string]any `json:"attributes"`
		} `json:"instances"`
	} `json:"resources"`
}

// Addresses lists the managed resources of the state, e.g. aws_s3_bucket.data.
func (s tfState) Addresses() []string {
	var out []string
	for _, r := range s.Resources {
		if r.Mode == "managed" {
			out = append(out, r.Type+"."+r.Name)
		}
	}
	return out
}

// Attr is one attribute of a single-instance resource, "" when absent.
func (s tfState) Attr(address, attr string) string {
	for _, r := range s.Resources {
		if r.Type+"."+r.Name == address && len(r.Instances) == 1 {
			v := r.Instances[0].Attributes[attr]
			// terraform_data keeps input and output as {"type": ..., "value": ...}.
			if m, ok := v.(map[string]any); ok {
				v = m["value"]
			}
			if v != nil {
				return fmt.Sprint(v)
			}
		}
	}
	return ""
}

// State reads a state object from the state bucket; ok is false when there is none.
func (m *Moto) State(t *testing.T, key string) (tfState, bool) {
	t.Helper()
	data, ok := m.Object(t, key)
	if !ok {
		return tfState{}, false
	}
	var s tfState
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("state %s is not a state: %v\n%s", key, err, data)
	}
	if s.Version != 4 || s.Lineage == "" {
		t.Fatalf("state %s: version %d, lineage %q: not a valid state", key, s.Version, s.Lineage)
	}
	return s, true
}

// MustState is State for a state that must exist.
func (m *Moto) MustState(t *testing.T, key string) tfState {
	t.Helper()
	s, ok := m.State(t, key)
	if !ok {
		t.Fatalf("no state at s3://%s/%s", stateBucket, key)
	}
	return s
}

// Object reads an object of the state bucket.
func (m *Moto) Object(t *testing.T, key string) ([]byte, bool) {
	t.Helper()
	out, err := m.S3().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(stateBucket), Key: aws.String(key)})
	if err != nil {
		if strings.Contains(err.Error(), "NoSuchKey") || strings.Contains(err.Error(), "NoSuchBucket") || strings.Contains(err.Error(), "StatusCode: 404") {
			return nil, false
		}
		t.Fatalf("get s3://%s/%s: %v", stateBucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data, true
}

// assertNoLeak fails when canary occurs in s or in any file under dir (dir may be "").
// secretToken is a canary value unique to the test, and the environment that passes it as
// the app stack's api_token in a secret var file (--tf-var-file=env:SECRET_TFVARS).
func secretToken(t *testing.T) (canary string, env []string) {
	canary = "canary-" + unique(t) + unique(t)
	return canary, []string{"SECRET_TFVARS=api_token = \"" + canary + "\"\n"}
}

func assertNoLeak(t *testing.T, canary, what, s string) {
	t.Helper()
	if strings.Contains(s, canary) {
		i := strings.Index(s, canary)
		lo, hi := max(0, i-200), min(len(s), i+len(canary)+100)
		t.Errorf("the secret canary appears in %s: ...%s...", what, s[lo:hi])
	}
}

func assertNoLeakInDir(t *testing.T, canary, dir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		assertNoLeak(t, canary, "exported file "+p, string(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Errorf("%s holds no files", dir)
	}
}

// lastSummaryLine is the last line of a summary that is neither empty nor a code fence.
func lastSummaryLine(summary string) string {
	lines := strings.Split(summary, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l != "" && !strings.HasPrefix(l, "```") {
			return l
		}
	}
	return ""
}

// TestEngineFlake checks the retry rule on error lines the engine printed: a lost session
// while loading the module is retried, a function's own failure is not.
func TestEngineFlake(t *testing.T) {
	tests := []struct {
		name, stderr string
		want         bool
	}{
		{"session lost while loading the module", `Error: failed to get configured module: failed to stat local path: failed to stat path: failed to get requester session: session for "uv45iecq3ij0b7jv32s9qdf6r" not found`, true},
		{"module failed to initialize", "Error: failed to serve module: failed to initialize module: exit code 1", true},
		{"engine not up yet", "dial unix /run/dagger/engine.sock: connect: connection refused", true},
		{"the function failed", "Error: plan test: terraform plan: exit code 1", false},
		{"a session lost inside the function", `Error: apply prod: failed to get requester session: session for "x" not found`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := engineFlake(tt.stderr); got != tt.want {
				t.Errorf("engineFlake(%q) = %v, want %v", tt.stderr, got, tt.want)
			}
		})
	}
}
