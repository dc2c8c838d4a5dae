// A Dagger module's shape, for ReadModule: parsed, never compiled.
package main

type Infra struct{}

func New(region string, awsAccessKeyID *Secret) *Infra { return &Infra{} }

func (m *Infra) SecurityScan(ctx context.Context, env string, failOn string) (*Directory, error) {
	return nil, nil
}

func (m *Infra) Pipeline(ctx context.Context, infracostApiKey *Secret) (string, error) {
	return "", nil
}

// Not functions of the module: unexported, or another type's.
func (m *Infra) plan(env string)   {}
func (o *Other) Import(env string) {}
func Helper(env string)            {}
