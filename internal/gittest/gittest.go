// Package gittest serves a git repository over git's smart HTTP protocol (the real
// git-http-backend) behind basic auth, as a private module host is, for tests that fetch
// Terraform modules from it.
package gittest

import (
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Server is a served repository modules.git, its branch main tagged v1 at the first commit.
type Server struct {
	// Addr is the host:port it listens on.
	Addr       string
	work, root string
}

// Serve commits files (path → contents) to a bare repository modules.git, tags the commit
// v1, and serves it on addr (e.g. 127.0.0.1:0) to user with token only. The server stops
// with the test.
func Serve(t *testing.T, addr, user, token string, files map[string]string) *Server {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not on PATH")
	}
	s := &Server{work: t.TempDir(), root: t.TempDir()}
	s.git(t, s.work, "init", "-q", "-b", "main")
	s.Commit(t, files)
	s.git(t, s.work, "tag", "v1")
	s.git(t, s.root, "clone", "-q", "--bare", s.work, "modules.git")
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + s.root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	s.Addr = l.Addr().String()
	return s
}

// Commit writes files on branch main and, once the repository is served, pushes them: the
// branch moves, as a module's does when its authors merge.
func (s *Server) Commit(t *testing.T, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(s.work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s.git(t, s.work, "add", ".")
	s.git(t, s.work, "commit", "-q", "-m", "modules")
	if _, err := os.Stat(filepath.Join(s.root, "modules.git")); err == nil {
		s.git(t, s.work, "push", "-q", filepath.Join(s.root, "modules.git"), "main")
	}
}

func (s *Server) git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+s.root, "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
