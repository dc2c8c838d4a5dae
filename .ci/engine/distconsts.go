// Package distconsts holds the constants that dagger's engine/distconsts module provides
// upstream. The module zip of github.com/dagger/dagger@v0.19.10 lacks that nested module
// (its go.mod replaces it with ./engine/distconsts, which the proxy never serves), so
// .ci/engine.sh writes this file there before building the CLI and the engine. Values are
// upstream's: the engine reads paths from them, the CLI the default container name.
package distconsts

const (
	EngineContainerName = "dagger-engine.dev"

	DefaultEngineSockAddr = "unix:///run/dagger/engine.sock"
)

const (
	// The engine runs runc from here and bind-mounts dagger-init into every container.
	RuncPath       = "/usr/local/bin/runc"
	DaggerInitPath = "/usr/local/bin/dagger-init"

	EngineDefaultStateDir = "/var/lib/dagger"

	// The Go SDK's base image is loaded from this OCI content store, selected by the
	// digest in the engine's DAGGER_GO_SDK_MANIFEST_DIGEST.
	EngineContainerBuiltinContentDir   = "/usr/local/share/dagger/content"
	GoSDKManifestDigestEnvName         = "DAGGER_GO_SDK_MANIFEST_DIGEST"
	PythonSDKManifestDigestEnvName     = "DAGGER_PYTHON_SDK_MANIFEST_DIGEST"
	TypescriptSDKManifestDigestEnvName = "DAGGER_TYPESCRIPT_SDK_MANIFEST_DIGEST"
)

const (
	// Used by `dagger terminal` and dagger's own integration tests only.
	AlpineVersion = "3.22.1"
	AlpineImage   = "alpine:" + AlpineVersion

	GolangVersion = "1.25.5"
	GolangImage   = "golang:" + GolangVersion + "-alpine"

	BusyboxVersion = "1.37.0"
	BusyboxImage   = "busybox:" + BusyboxVersion
)

const (
	OCIVersionAnnotation = "org.opencontainers.image.version"
)

const (
	// update-ca-certificates at engine start picks extra CAs up from here.
	EngineCustomCACertsDir = "/usr/local/share/ca-certificates"
)
