package gitauth

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/internal/tftest"
	"github.com/infrapipe/infrapipe/internal/gittest"
)

func TestParse(t *testing.T) {
	const token = "ghs_s3cr3tT0ken"
	tests := []struct {
		name, text string
		sites      []string
		tokens     []string
		err        string // part of the error; "" for none
	}{
		{"one host", "https://x-access-token:" + token + "@github.com\n", []string{"https://github.com"}, []string{token}, ""},
		{"git's own file, blank lines and a port", "\nhttps://ci:" + token + "@github.com\n\nhttps://bot:p%40ss@git.example.com:8443/\n",
			[]string{"https://github.com", "https://git.example.com:8443"}, []string{token, "p@ss"}, ""},
		{"crlf", "https://x:" + token + "@github.com\r\n", nil, nil, "line 1: a Windows line ending"},
		{"spaces", " https://x:" + token + "@github.com", nil, nil, "line 1: spaces around the URL"},
		{"no token", "https://x-access-token@github.com", nil, nil, "line 1: no user and token"},
		{"empty token", "https://x-access-token:@github.com", nil, nil, "line 1: no user and token"},
		{"token alone", "https://" + token + "@github.com", nil, nil, "no user and token"},
		{"not https", "ssh://git:" + token + "@github.com", nil, nil, "not an https:// URL"},
		{"bare host", "github.com", nil, nil, "not an https:// URL"},
		{"a path", "https://x:" + token + "@github.com/org/repo.git", nil, nil, "a path after the host"},
		{"second line bad", "https://x:" + token + "@github.com\nhttps://x:" + token + "@", nil, nil, "line 2: no host"},
		{"not a URL", "https://x:" + token + "@git hub.com", nil, nil, "line 1: not a URL"},
		{"nothing", "\n \n", nil, nil, "holds no credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.text)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse: error %v, want one saying %q", err, tt.err)
				}
				if strings.Contains(err.Error(), token) {
					t.Errorf("the error quotes the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Sites, tt.sites) || !slices.Equal(c.Tokens, tt.tokens) {
				t.Errorf("Parse = %q %q, want %q %q", c.Sites, c.Tokens, tt.sites, tt.tokens)
			}
		})
	}
}

// FuzzParse: Parse never panics, an error is one line and never quotes a line's token, and
// what it accepts holds a token for every site.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"https://x-access-token:tok@github.com\n", "https://a:b@h:1/\n\nhttp://u:p%41@x", "https://h", "https://:@/", "\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse(text)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("the error spans lines: %q", err)
			}
			for _, line := range strings.Split(text, "\n") {
				if u, perr := url.Parse(line); perr == nil && u.User != nil {
					if p, ok := u.User.Password(); ok && len(p) >= 6 && strings.Contains(err.Error(), p) {
						t.Fatalf("the error quotes a token %q: %v", p, err)
					}
				}
			}
			return
		}
		if len(c.Sites) == 0 || len(c.Sites) != len(c.Tokens) {
			t.Fatalf("Parse accepted %q as sites %q, tokens %q", text, c.Sites, c.Tokens)
		}
		for _, tok := range c.Tokens {
			if tok == "" {
				t.Fatalf("Parse accepted an empty token in %q", text)
			}
		}
	})
}

// TestTerraformFetchesPrivateModule: real Terraform fetches a module from a git server
// that asks for basic auth (git http-backend), with the configuration Env gives and the
// credentials file Parse accepted; without them, or with another token, it cannot.
func TestTerraformFetchesPrivateModule(t *testing.T) {
	const user, token = "x-access-token", "ghs-test-token-4711"
	server := gittest.Serve(t, "127.0.0.1:0", user, token, map[string]string{
		"shared/main.tf": "resource \"terraform_data\" \"shared\" {\n  input = \"private\"\n}\n",
	}).Addr
	site, host := "http://"+server, strings.Split(server, ":")[0]
	good := "http://" + user + ":" + token + "@" + server + "\n"

	tests := []struct {
		name, source, credentials string
		ok                        bool
	}{
		{"http source", "git::" + site + "/modules.git//shared", good, true},
		// The ssh form names the host without the server's port: fetched from its site all the same.
		{"ssh source of the same host", "git::ssh://git@" + host + "/modules.git//shared", good, true},
		{"another token", "git::" + site + "/modules.git//shared", "http://" + user + ":wrong-token@" + server + "\n", false},
		{"no credentials", "git::" + site + "/modules.git//shared", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			home := t.TempDir() // no ~/.gitconfig or stored credentials of the machine
			write(t, filepath.Join(dir, "main.tf"), "module \"shared\" {\n  source = \""+tt.source+"\"\n}\n")
			env := append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
			file := filepath.Join(t.TempDir(), "git-credentials")
			if tt.credentials != "" {
				c, err := Parse(tt.credentials)
				if err != nil {
					t.Fatal(err)
				}
				write(t, file, tt.credentials)
				if err := os.Chmod(file, 0o400); err != nil {
					t.Fatal(err)
				}
				for _, v := range Env(file, c.Sites) {
					env = append(env, v.Name+"="+v.Value)
				}
			}
			cmd := exec.Command(tftest.Binary(t), "init", "-input=false", "-no-color", "-backend=false")
			cmd.Dir, cmd.Env = dir, env
			out, err := cmd.CombinedOutput()
			if tt.ok {
				if err != nil {
					t.Fatalf("terraform init: %v\n%s", err, out)
				}
				if _, err := os.Stat(filepath.Join(dir, ".terraform", "modules", "shared", "shared", "main.tf")); err != nil {
					t.Errorf("the module was not fetched: %v\n%s", err, out)
				}
				if data, _ := os.ReadFile(file); string(data) != tt.credentials {
					t.Errorf("git rewrote the credentials file: %q", data)
				}
				return
			}
			if err == nil {
				t.Fatalf("terraform init fetched the private module %s:\n%s", tt.name, out)
			}
			if !strings.Contains(string(out), "Could not download module") {
				t.Errorf("terraform init failed otherwise than on the module:\n%s", out)
			}
			if strings.Contains(string(out), token) {
				t.Errorf("terraform's error shows the token:\n%s", out)
			}
		})
	}
}

// TestEnvRewritesSSHSources: an ssh source of a host with credentials, in both of its
// forms, is fetched from the credentials' site; other hosts are left alone.
func TestEnvRewritesSSHSources(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not on PATH")
	}
	env := append(os.Environ(), "HOME="+t.TempDir(), "GIT_CONFIG_NOSYSTEM=1")
	for _, v := range Env("/run/secrets/git-credentials", []string{"https://github.com", "https://git.example.com:8443"}) {
		env = append(env, v.Name+"="+v.Value)
	}
	for from, want := range map[string]string{
		"git@github.com:org/modules.git":          "https://github.com/org/modules.git",
		"ssh://git@github.com/org/modules.git":    "https://github.com/org/modules.git",
		"ssh://git@git.example.com/org/x.git":     "https://git.example.com:8443/org/x.git",
		"ssh://git@gitlab.com/org/modules.git":    "ssh://git@gitlab.com/org/modules.git",
		"https://github.com/org/modules.git":      "https://github.com/org/modules.git",
		"ssh://deploy@github.com/org/modules.git": "ssh://deploy@github.com/org/modules.git",
	} {
		cmd := exec.Command("git", "ls-remote", "--get-url", from)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git ls-remote --get-url %s: %v", from, err)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("git fetches %s from %s, want %s", from, got, want)
		}
	}
}

func write(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
