// Command terraform-provider-aws is a tiny stand-in for the hashicorp/aws provider, served
// to Terraform from a filesystem mirror in tests. The real provider cannot be downloaded
// here (no registry), yet import blocks and refresh-only drift only mean something against
// real remote objects: this provider manages a few resource types (aws_s3_bucket,
// aws_dynamodb_table, aws_sns_topic) on moto through aws-sdk-go-v2, with schemas that are a
// subset of the real provider's, so the same HCL plans with either.
//
// It is test infrastructure: ci/internal/providertest builds it and lays out the mirror.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
)

// version is what Terraform sees in the mirror; the providertest package sets it at build
// time so that `~> 5.0` constraints written for the real provider resolve.
var version = "5.99.0"

func main() {
	debug := flag.Bool("debug", false, "run with support for debuggers such as delve")
	flag.Parse()
	err := providerserver.Serve(context.Background(), newProvider(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/hashicorp/aws",
		Debug:   *debug,
	})
	if err != nil {
		log.Fatal(err)
	}
}
