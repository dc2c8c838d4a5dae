package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/infrapipe/infrapipe/ci/internal/markdown"
	"github.com/infrapipe/infrapipe/ci/report"
)

// Command is the `dagger call` line that reruns one function with the same options. Every
// summary ends with one, so a failure in CI can be replayed locally by pasting it. Secrets
// appear as env:NAME or file:PATH references (SecretRef), never as values.
type Command struct {
	options  []string // how the module is reached (Invocation), then the constructor's flags
	function string
	args     []string
}

// Call starts the line for a function (its CLI name, e.g. "restore-state") after options:
// the words that reach the module (Invocation), then the constructor's flags.
func Call(options []string, function string) Command {
	return Command{options: slices.Clone(options), function: function}
}

// Flag adds --name=value; an empty value leaves the flag out, as the function's default.
func (c Command) Flag(name, value string) Command {
	if value == "" {
		return c
	}
	return c.with("--" + name + "=" + value)
}

// Bool adds --name when on; off is every bool flag's default.
func (c Command) Bool(name string, on bool) Command {
	if !on {
		return c
	}
	return c.with("--" + name)
}

// Secret adds --name=env:VAR when the caller gave that secret: the reader supplies their own
// value through the environment variable.
func (c Command) Secret(name string, given bool, envVar string) Command {
	if !given {
		return c
	}
	return c.with("--" + name + "=env:" + envVar)
}

// SecretOption is Secret for a constructor flag: it goes before the function.
func (c Command) SecretOption(name string, given bool, envVar string) Command {
	if given {
		c.options = append(slices.Clone(c.options), "--"+name+"=env:"+envVar)
	}
	return c
}

func (c Command) with(arg string) Command {
	c.args = append(slices.Clone(c.args), arg)
	return c
}

// Saved are where a line saves the result of the functions that return a directory or a
// file, as the caller workflows and docs/ do: pasted on a laptop, a run that passes leaves
// the report the CI run uploaded, rather than the engine's listing of it. A blocked run
// fails before the export, with its reasons, as the line leaves out --report-on-failure.
var Saved = map[string]string{
	"pipeline": "./reports", "drift": "./reports", "plan": "./plan", "apply": "./apply",
	"import": "./import", "compliance": "./compliance", "security-scan": "./scan",
	"test": "./test-results", "kpis": "./kpis", "backup-state": "./backup.tfstate",
}

// String is the line, shell-quoted where needed so it can be pasted as is, ending with
// the export of the function's result (Saved).
func (c Command) String() string {
	parts := []string{"dagger", "call"}
	parts = append(parts, quoteAll(c.options)...)
	parts = append(parts, c.function)
	parts = append(parts, quoteAll(c.args)...)
	if p, ok := Saved[c.function]; ok {
		parts = append(parts, "export", "--path="+p)
	}
	return strings.Join(parts, " ")
}

// Markdown is the line as the closing section of a summary: ci/report's footer, so every
// summary ends as the plan summary does (and a line made huge by its flags' values is cut
// there too).
func (c Command) Markdown() string { return report.Footer(c.String()) }

// Announcement is the line as a call's log starts with it, before anything runs, so a CI
// job's log opens with the command that reproduces it on a laptop. A run against an
// emulator needs no credentials to replay.
func (c Command) Announcement(emulated bool) string {
	needs := " (with your own AWS credentials in the environment)"
	if emulated {
		needs = ""
	}
	return fmt.Sprintf("Reproduce locally%s:\n  %s\n", needs, c)
}

// Wrap ends a function's error with the line, so a failed run says how to replay it as its
// summary would have. nil stays nil, and an error that already holds the line (a failure
// that carries its summary) is returned as it is.
func (c Command) Wrap(err error) error {
	if err == nil || strings.Contains(err.Error(), c.String()) {
		return err
	}
	return &reproducible{err: err, line: c.String()}
}

// reproducible is an error with the line that replays the failed run.
type reproducible struct {
	err  error
	line string
}

func (e *reproducible) Error() string { return e.err.Error() + "\n\nReproduce with: " + e.line }

func (e *reproducible) Unwrap() error { return e.err }

// CodeBlock fences text (a tool's output, an error, a command) as a Markdown code block,
// ending with a newline, for the module's summaries: ci/internal/markdown's fence, which
// tool output cannot close early, offered to the module, which cannot import ci/internal.
// lang may be empty.
func CodeBlock(lang, text string) string { return markdown.CodeBlock(lang, text) + "\n" }

// shellSafe are the characters a shell word may hold unquoted.
const shellSafe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,@+"

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, shellSafe) == "" {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return out
}
