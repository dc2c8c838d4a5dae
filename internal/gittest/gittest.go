// Package gittest serves git repositories over git's smart HTTP protocol (the real
// git-http-backend): behind basic auth, as a private host of Terraform modules is, or open,
// as a public host of a Dagger module is, for tests that fetch from them.
package gittest

import (
	"errors"
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

// Server serves one repository: Serve's modules.git, its branch main tagged v1 at the first
// commit, or ServeTree's snapshot.
type Server struct {
	// Addr is the host:port it listens on.
	Addr       string
	work, root string
	name       string // the served repository, <name>.git
}

// Serve commits files (path → contents) to a bare repository modules.git, tags the commit
// v1, and serves it on addr (e.g. 127.0.0.1:0) to user with token only. The server stops
// with the test.
func Serve(t *testing.T, addr, user, token string, files map[string]string) *Server {
	t.Helper()
	s := newServer(t, "modules")
	s.Commit(t, files)
	s.git(t, s.work, "tag", "v1")
	s.git(t, s.root, "clone", "-q", "--bare", s.work, s.name+".git")
	s.serve(t, addr, func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == user && p == token
	})
	return s
}

// ServeTree commits the files of the git work tree dir as they are on disk (tracked ones
// and new ones git does not ignore: uncommitted changes too) to a bare repository
// <name>.git, branch main, and serves it on addr to anyone, as a public module host does.
func ServeTree(t *testing.T, addr, name, dir string) *Server {
	t.Helper()
	s := newServer(t, name)
	list := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	list.Dir = dir
	out, err := list.Output()
	if err != nil {
		t.Fatalf("git ls-files in %s: %v", dir, err)
	}
	for _, f := range strings.Split(string(out), "\x00") {
		if f == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, f))
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		s.write(t, f, data)
	}
	s.git(t, s.work, "add", ".")
	s.git(t, s.work, "commit", "-q", "-m", "snapshot")
	s.git(t, s.root, "clone", "-q", "--bare", s.work, s.name+".git")
	s.serve(t, addr, func(*http.Request) bool { return true })
	return s
}

func newServer(t *testing.T, name string) *Server {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not on PATH")
	}
	s := &Server{work: t.TempDir(), root: t.TempDir(), name: name}
	s.git(t, s.work, "init", "-q", "-b", "main")
	return s
}

// serve serves the repositories under s.root with the real git-http-backend, to requests
// allowed lets through, until the test ends.
func (s *Server) serve(t *testing.T, addr string, allowed func(*http.Request) bool) {
	t.Helper()
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
		if !allowed(r) {
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
}

func (s *Server) write(t *testing.T, name string, data []byte) {
	t.Helper()
	p := filepath.Join(s.work, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Commit writes files on branch main and, once the repository is served, pushes them: the
// branch moves, as a module's does when its authors merge.
func (s *Server) Commit(t *testing.T, files map[string]string) {
	t.Helper()
	for name, data := range files {
		s.write(t, name, []byte(data))
	}
	s.git(t, s.work, "add", ".")
	s.git(t, s.work, "commit", "-q", "-m", "modules")
	if _, err := os.Stat(filepath.Join(s.root, s.name+".git")); err == nil {
		s.git(t, s.work, "push", "-q", filepath.Join(s.root, s.name+".git"), "main")
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
