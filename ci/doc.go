// Package ci holds the decisions of the infrastructure pipeline as ordinary Go packages:
// the Dagger module in .dagger builds containers and runs the tools, and asks these
// packages what the tools' output means.
package ci
