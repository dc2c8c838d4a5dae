// Package mototest starts a real moto_server (the AWS API emulator) on 127.0.0.1 for tests.
package mototest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Server is a running moto_server.
type Server struct {
	URL  string // http://127.0.0.1:PORT
	Port int
	cmd  *exec.Cmd
}

// Start launches moto_server on a free loopback port and stops it when the test ends.
// Tests set AWS_* variables to dummy credentials themselves (see Env).
func Start(t testing.TB) *Server { return start(t, nil) }

// StartEnforcingIAM is Start for a server that answers the first free requests as Start's
// does and then enforces IAM (moto's INITIAL_NO_AUTH_ACTION_COUNT): a test makes its users,
// their policies and its objects with those, and then calls as a user whose policy allows
// only some actions, as a least-privilege role would.
func StartEnforcingIAM(t testing.TB, free int) *Server {
	return start(t, []string{fmt.Sprintf("INITIAL_NO_AUTH_ACTION_COUNT=%d", free)})
}

func start(t testing.TB, env []string) *Server {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("moto_server is not installed (.ci/run installs it): %v", err)
	}
	port := freePort(t)
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(os.Environ(), env...)
	logf, err := os.CreateTemp(t.TempDir(), "moto-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Port: port, cmd: cmd}
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("moto_server did not answer on %s within 30s: %v\n%s", s.URL, err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills the server (and its process group); safe to call twice.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Stall freezes the server (SIGSTOP) so requests hang, until Resume or the end of the test
// (the cleanup resumes it before Stop, registered earlier, kills it).
func (s *Server) Stall(t testing.TB) {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGSTOP)
	t.Cleanup(s.Resume)
}

// Resume lets a stalled server answer again.
func (s *Server) Resume() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGCONT)
	}
}

// Reset clears every resource the server holds.
func (s *Server) Reset(t testing.TB) {
	t.Helper()
	resp, err := http.Post(s.URL+"/moto-api/reset", "application/json", strings.NewReader(""))
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	resp.Body.Close()
}

// Setenv points this test's AWS SDK clients and Terraform at dummy credentials and region
// (Env) for the rest of the test; tests that call it cannot run in parallel.
func (s *Server) Setenv(t testing.TB) {
	t.Helper()
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Env returns dummy AWS credentials and region for SDK clients and Terraform.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_SESSION_TOKEN=testing",
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
	}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Bucket points this test's AWS SDK at the server (Setenv), creates an empty bucket in
// us-east-1 and returns an S3 client for it, path-style as the pipeline's own client is.
func (s *Server) Bucket(t testing.TB, name string) *s3.Client {
	t.Helper()
	s.Setenv(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint, o.UsePathStyle = aws.String(s.URL), true
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s on moto: %v", name, err)
	}
	return client
}
