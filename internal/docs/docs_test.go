// Package docs tests the README and the pages under docs/ as a reader meets them: every
// link inside the repository resolves, to a file and to a heading, every page is reachable
// from the README, and the README stays a front door.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const root = "../.."

// pages are the README and every page under docs/, as paths from the repository root.
func pages(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no pages in docs/: %v", err)
	}
	out := []string{"README.md"}
	for _, d := range docs {
		rel, err := filepath.Rel(root, d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rel)
	}
	return out
}

func read(t *testing.T, page string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, page))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

var linkRE = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// outsideFences drops fenced code blocks, where brackets and hashes are code, not Markdown.
func outsideFences(md string) []string {
	var out []string
	fence := ""
	for _, l := range strings.Split(md, "\n") {
		t := strings.TrimSpace(l)
		if fence == "" && (strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~")) {
			fence = t[:3]
			continue
		}
		if fence != "" {
			if strings.HasPrefix(t, fence) && strings.Trim(t, "`~") == "" {
				fence = ""
			}
			continue
		}
		out = append(out, l)
	}
	return out
}

var headingRE = regexp.MustCompile(`^#{1,6} (.+)$`)

// anchors are the heading IDs GitHub gives a page: lower case, punctuation other than - and
// _ dropped, spaces as hyphens.
func anchors(md string) map[string]bool {
	out := map[string]bool{}
	drop := regexp.MustCompile(`[^\p{L}\p{N}_\- ]`)
	for _, l := range outsideFences(md) {
		if m := headingRE.FindStringSubmatch(l); m != nil {
			id := strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(strings.TrimSpace(m[1])), ""), " ", "-")
			out[id] = true
		}
	}
	return out
}

// Every link inside the repository names a file that exists and, with a #fragment, a
// heading of that file.
func TestLinksResolve(t *testing.T) {
	checked := 0
	for _, page := range pages(t) {
		md := read(t, page)
		for _, l := range outsideFences(md) {
			for _, m := range linkRE.FindAllStringSubmatch(l, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				checked++
				file, frag, _ := strings.Cut(target, "#")
				dest := page
				if file != "" {
					dest = filepath.Join(filepath.Dir(page), file)
					if _, err := os.Stat(filepath.Join(root, dest)); err != nil {
						t.Errorf("%s: link %s: no file %s", page, target, dest)
						continue
					}
				}
				if frag != "" && !anchors(read(t, dest))[frag] {
					t.Errorf("%s: link %s: %s has no heading #%s", page, target, dest, frag)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d links: the link parser is broken", checked)
	}
}

// Every page under docs/ is linked from the README: a page nobody can find is a page
// nobody reads.
func TestEveryPageLinkedFromTheReadme(t *testing.T) {
	readme := read(t, "README.md")
	for _, page := range pages(t)[1:] {
		if !strings.Contains(readme, "]("+filepath.ToSlash(page)+")") {
			t.Errorf("README.md does not link to %s", page)
		}
	}
}

// The README is the front door: what it is, the two commands, a tour, the layout and links,
// on about one screen per part; the manual lives in docs/.
func TestReadmeIsShort(t *testing.T) {
	readme := read(t, "README.md")
	if n := strings.Count(readme, "\n"); n > 250 {
		t.Errorf("README.md has %d lines, want at most 250: move the detail into docs/", n)
	}
	var headings []string
	for _, l := range outsideFences(readme) {
		if strings.HasPrefix(l, "## ") {
			headings = append(headings, strings.TrimPrefix(l, "## "))
		}
	}
	for _, want := range []string{"Set-up: two commands", "Documentation"} {
		if !slices.Contains(headings, want) {
			t.Errorf("README.md has no section %q (sections %q)", want, headings)
		}
	}
}

// The anchor rule matches GitHub's on the headings this documentation uses.
func TestAnchors(t *testing.T) {
	got := anchors("# Set-up: two commands\n## Pipeline configuration (`pipeline.yaml`)\n```\n## Not a heading\n```\n### Backups (`backup-state`, and before every staging and prod apply)\n")
	for _, want := range []string{"set-up-two-commands", "pipeline-configuration-pipelineyaml", "backups-backup-state-and-before-every-staging-and-prod-apply"} {
		if !got[want] {
			t.Errorf("no anchor %s in %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a line in a code block became a heading")
	}
}

// docRefRE matches a page of docs/ named in the code, with its heading when it names one:
// errors, notes and hints send readers there.
var docRefRE = regexp.MustCompile(`docs/([a-z0-9-]+\.md)(#[a-z0-9_-]+)?`)

// Every docs/ page and heading the module's and ci/'s messages name exists.
func TestLinksInMessagesResolve(t *testing.T) {
	checked := 0
	for _, dir := range []string{"ci", ".dagger"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range docRefRE.FindAllStringSubmatch(string(data), -1) {
				checked++
				page := filepath.Join("docs", m[1])
				if _, err := os.Stat(filepath.Join(root, page)); err != nil {
					t.Errorf("%s names %s: no such page", p, m[0])
					continue
				}
				if m[2] != "" && !anchors(read(t, page))[m[2][1:]] {
					t.Errorf("%s names %s: %s has no heading %s", p, m[0], page, m[2])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked == 0 {
		t.Fatal("no docs/ page named in the code: the pattern is broken")
	}
	t.Logf("%d references checked", checked)
}
