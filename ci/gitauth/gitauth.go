// Package gitauth lets Terraform's containers fetch private module sources with git
// (git::https://..., github.com/org/repo) using the caller's tokens: --git-credentials, in
// git's own credential-store format, read by a credential helper that answers and never
// stores. The containers hold no SSH key, so the ssh sources of a host with credentials
// (git@github.com:org/repo.git) are fetched over HTTPS with the same token.
package gitauth

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Example is a line of --git-credentials, for the help and the errors.
const Example = "https://x-access-token:<token>@github.com"

// Credentials are --git-credentials, checked.
type Credentials struct {
	// Sites are the scheme and host (with its port) of each line, e.g. https://github.com,
	// in the order given: not secret, the module keeps them for Env.
	Sites []string
	// Tokens are the passwords, for masking.
	Tokens []string
}

// Parse checks --git-credentials: one URL a line with a user and a token, as git's
// credential-store writes them (~/.git-credentials), blank lines skipped. git itself skips
// a line it cannot read, and the fetch then fails as if no token were given, far from the
// cause; here the line is named. An error never quotes a line: it holds a token.
func Parse(text string) (Credentials, error) {
	var c Credentials
	for i, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		site, token, err := parseLine(line)
		if err != nil {
			return Credentials{}, fmt.Errorf("--git-credentials line %d: %s (git's credential-store format, e.g. %s; the line is not shown, it may hold a token)", i+1, err, Example)
		}
		c.Sites = append(c.Sites, site)
		c.Tokens = append(c.Tokens, token)
	}
	if len(c.Sites) == 0 {
		return Credentials{}, fmt.Errorf("--git-credentials holds no credentials: give one line per git host, e.g. %s", Example)
	}
	return c, nil
}

// parseLine is one line's site and token, or what is wrong with it, in words that do not
// quote it.
func parseLine(line string) (site, token string, err error) {
	if strings.HasSuffix(line, "\r") {
		return "", "", fmt.Errorf("a Windows line ending (CR LF), which git would not read: save the file with LF line endings")
	}
	if strings.TrimSpace(line) != line {
		return "", "", fmt.Errorf("spaces around the URL, which git would not read")
	}
	u, err := url.Parse(line)
	if err != nil {
		return "", "", fmt.Errorf("not a URL")
	}
	token, hasToken := u.User.Password()
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", "", fmt.Errorf("not an https:// URL")
	case u.Host == "" || u.Hostname() == "":
		return "", "", fmt.Errorf("no host")
	case u.User == nil || u.User.Username() == "" || !hasToken || token == "":
		return "", "", fmt.Errorf("no user and token before the host (user:token@host)")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		// git matches these credentials by host only, whatever path the line names.
		return "", "", fmt.Errorf("a path after the host: git matches credentials by host alone, so give the host only")
	}
	return u.Scheme + "://" + u.Host, token, nil
}

// Var is an environment variable of the containers.
type Var struct{ Name, Value string }

// Env is git's configuration for a container whose credentials file (Parse's input) is
// mounted at file, for the sites Parse read: git's GIT_CONFIG_* variables (git 2.31 and
// later), which need no file in the image. The helper answers git's "get" from the file and
// does nothing on "store" and "erase", which would rewrite the read-only secret mount.
// Prompts are off: a fetch without credentials fails at once instead of waiting for a
// terminal.
func Env(file string, sites []string) []Var {
	config := [][2]string{{"credential.helper", fmt.Sprintf(`!f() { test "$1" = get && exec git credential-store --file=%s get; }; f`, file)}}
	for _, site := range sites {
		u, err := url.Parse(site)
		if err != nil {
			continue // not a site Parse returned
		}
		for _, ssh := range []string{"ssh://git@" + u.Hostname() + "/", "git@" + u.Hostname() + ":"} {
			config = append(config, [2]string{"url." + site + "/.insteadOf", ssh})
		}
	}
	vars := []Var{{"GIT_TERMINAL_PROMPT", "0"}, {"GIT_CONFIG_COUNT", strconv.Itoa(len(config))}}
	for i, kv := range config {
		vars = append(vars, Var{fmt.Sprintf("GIT_CONFIG_KEY_%d", i), kv[0]}, Var{fmt.Sprintf("GIT_CONFIG_VALUE_%d", i), kv[1]})
	}
	return vars
}
