package main

import (
	"errors"
	"strings"
	"testing"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/state"
)

// newInfra calls the constructor with its defaults (as `dagger call` fills them in), changed
// by set.
func newInfra(t *testing.T, set func(*constructorArgs)) *Infra {
	t.Helper()
	a := constructorArgs{
		terraformDir: "terraform", terraformVersion: defaultTerraformVersion, tflintImage: defaultTflintImage,
		checkovImage: defaultCheckovImage, trivyImage: defaultTrivyImage, opaImage: defaultOpaImage,
		infracostImage: defaultInfracostImage, complianceImage: defaultComplianceImage, motoImage: defaultMotoImage,
		region: defaultRegion, emulatorPort: defaultEmulatorPort,
	}
	if set != nil {
		set(&a)
	}
	m, err := New(nil, a.terraformDir, a.terraformVersion, a.terraformImage, a.tflintImage, a.checkovImage, a.trivyImage,
		a.opaImage, a.infracostImage, a.complianceImage, a.motoImage, a.region, false, a.emulator, a.emulatorPort)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type constructorArgs struct {
	terraformDir, terraformVersion, terraformImage, tflintImage, checkovImage, trivyImage string
	opaImage, infracostImage, complianceImage, motoImage, region                          string
	emulator                                                                              *dagger.Service
	emulatorPort                                                                          int
}

// The reproduce line carries exactly the constructor options that differ from the defaults,
// so pasting it reruns with the same settings.
func TestReproduceLineHasTheConstructorOptions(t *testing.T) {
	tests := []struct {
		name string
		set  func(*constructorArgs)
		want string
	}{
		{"defaults", nil, "dagger call plan --env=test"},
		{"region and image", func(a *constructorArgs) {
			a.region, a.trivyImage = "eu-west-1", "mirror.example.com/trivy:0.74.0"
		}, "dagger call --trivy-image=mirror.example.com/trivy:0.74.0 --region=eu-west-1 plan --env=test"},
		{"terraform version picks the image", func(a *constructorArgs) { a.terraformVersion = "1.10.5" },
			"dagger call --terraform-version=1.10.5 plan --env=test"},
		{"emulator on the default port", func(a *constructorArgs) { a.emulator = &dagger.Service{} },
			"dagger call --aws-emulator=tcp://localhost:5000 plan --env=test"},
		{"emulator on another port", func(a *constructorArgs) { a.emulator, a.emulatorPort = &dagger.Service{}, 4566 },
			"dagger call --aws-emulator=tcp://localhost:4566 --aws-emulator-port=4566 plan --env=test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newInfra(t, tt.set)
			if got := m.envCall("plan", "test", awsCredentials{}).String(); got != tt.want {
				t.Errorf("reproduce line\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// A failed --force import after its state rm names what left the state and the exact
// restore-state line for the backup taken first.
func TestStateChangedSaysHowToRestore(t *testing.T) {
	r := &run{m: newInfra(t, nil), env: "prod"}
	b := backupResult{file: &dagger.File{}, backup: state.Backup{}, key: "backups/prod/20261127T013000Z-serial-7-1a2b3c4d.tfstate"}
	cause := errors.New("terraform plan failed in prod (exit code 1)")
	err := stateChanged(cause, r, b, []string{"aws_s3_bucket.data", "aws_dynamodb_table.orders"})
	for _, want := range []string{
		"terraform plan failed in prod (exit code 1)",
		"removed aws_s3_bucket.data, aws_dynamodb_table.orders from the prod state",
		"dagger call restore-state --env=prod --from=backups/prod/20261127T013000Z-serial-7-1a2b3c4d.tfstate --confirm",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
	if !errors.Is(err, cause) {
		t.Errorf("the error no longer wraps its cause")
	}
}
