package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// awsProvider holds nothing: everything it needs comes from the provider block and the
// environment at Configure time.
type awsProvider struct {
	version string
}

func newProvider(version string) func() provider.Provider {
	return func() provider.Provider { return &awsProvider{version: version} }
}

// providerModel accepts the real provider's arguments that test configurations commonly
// carry (access keys, skip_* switches, endpoints, s3_use_path_style, default_tags) so HCL
// written for the real provider works unchanged; endpoint is this provider's own shortcut
// for one emulator.
type providerModel struct {
	Region                    types.String       `tfsdk:"region"`
	Endpoint                  types.String       `tfsdk:"endpoint"`
	AccessKey                 types.String       `tfsdk:"access_key"`
	SecretKey                 types.String       `tfsdk:"secret_key"`
	Token                     types.String       `tfsdk:"token"`
	SkipCredentialsValidation types.Bool         `tfsdk:"skip_credentials_validation"`
	SkipRegionValidation      types.Bool         `tfsdk:"skip_region_validation"`
	SkipRequestingAccountID   types.Bool         `tfsdk:"skip_requesting_account_id"`
	SkipMetadataAPICheck      types.String       `tfsdk:"skip_metadata_api_check"`
	S3UsePathStyle            types.Bool         `tfsdk:"s3_use_path_style"`
	Endpoints                 []endpointModel    `tfsdk:"endpoints"`
	DefaultTags               []defaultTagsModel `tfsdk:"default_tags"`
}

// endpointModel has the real provider's keys for the services test stacks commonly list;
// only s3, dynamodb and sns are used, the others are accepted so such stacks configure.
type endpointModel struct {
	S3       types.String `tfsdk:"s3"`
	DynamoDB types.String `tfsdk:"dynamodb"`
	SNS      types.String `tfsdk:"sns"`
	STS      types.String `tfsdk:"sts"`
	// Accepted, unused.
	CloudWatch types.String `tfsdk:"cloudwatch"`
	EC2        types.String `tfsdk:"ec2"`
	IAM        types.String `tfsdk:"iam"`
	KMS        types.String `tfsdk:"kms"`
	Lambda     types.String `tfsdk:"lambda"`
	SQS        types.String `tfsdk:"sqs"`
	Tagging    types.String `tfsdk:"resourcegroupstaggingapi"`
}

type defaultTagsModel struct {
	Tags types.Map `tfsdk:"tags"`
}

// clients is what resources receive from Configure.
type clients struct {
	region      string
	defaultTags map[string]string // provider default_tags, written with every resource's tags
	s3          *s3.Client
	dynamodb    *dynamodb.Client
	sns         *sns.Client
}

func (p *awsProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "aws"
	resp.Version = p.version
}

func (p *awsProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	endpoints := map[string]schema.Attribute{}
	for _, service := range []string{"s3", "dynamodb", "sns", "sts", "cloudwatch", "ec2", "iam", "kms", "lambda", "sqs", "resourcegroupstaggingapi"} {
		endpoints[service] = schema.StringAttribute{Optional: true, Description: "Endpoint URL for " + service + "."}
	}
	accepted := "Accepted for compatibility with the real provider; no effect."
	resp.Schema = schema.Schema{
		Description: "Test stand-in for hashicorp/aws, backed by an AWS emulator such as moto.",
		Attributes: map[string]schema.Attribute{
			"region": schema.StringAttribute{
				Optional:    true,
				Description: "AWS region; defaults to AWS_REGION or AWS_DEFAULT_REGION.",
			},
			"endpoint": schema.StringAttribute{
				Optional:    true,
				Description: "One endpoint URL for every service (e.g. moto); defaults to AWS_ENDPOINT_URL.",
			},
			"access_key":                  schema.StringAttribute{Optional: true, Sensitive: true},
			"secret_key":                  schema.StringAttribute{Optional: true, Sensitive: true},
			"token":                       schema.StringAttribute{Optional: true, Sensitive: true},
			"skip_credentials_validation": schema.BoolAttribute{Optional: true, Description: accepted},
			"skip_region_validation":      schema.BoolAttribute{Optional: true, Description: accepted},
			"skip_requesting_account_id":  schema.BoolAttribute{Optional: true, Description: accepted},
			"skip_metadata_api_check":     schema.StringAttribute{Optional: true, Description: accepted},
			"s3_use_path_style": schema.BoolAttribute{
				Optional:    true,
				Description: "Path-style S3 addressing; on by default whenever a custom endpoint is set.",
			},
		},
		Blocks: map[string]schema.Block{
			"endpoints": schema.ListNestedBlock{
				Description:  "Per-service endpoint URLs, overriding endpoint.",
				NestedObject: schema.NestedBlockObject{Attributes: endpoints},
			},
			"default_tags": schema.ListNestedBlock{
				Description: "Tags every resource carries, as in the real provider (there is no tags_all).",
				NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
					"tags": schema.MapAttribute{ElementType: types.StringType, Optional: true},
				}},
			},
		},
	}
}

func (p *awsProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, err := m.clients(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Configure the aws test provider", err.Error())
		return
	}
	c.defaultTags = map[string]string{}
	if len(m.DefaultTags) > 0 {
		var diags diag.Diagnostics
		c.defaultTags, diags = tagsFromConfig(ctx, m.DefaultTags[0].Tags)
		resp.Diagnostics.Append(diags...)
	}
	resp.ResourceData = c
}

func (m providerModel) clients(ctx context.Context) (*clients, error) {
	region := firstSet(m.Region.ValueString(), os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))
	if region == "" {
		return nil, fmt.Errorf("no region: set region in the provider block or AWS_REGION")
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(region)}
	if m.AccessKey.ValueString() != "" || m.SecretKey.ValueString() != "" {
		opts = append(opts, config.WithCredentialsProvider(aws.CredentialsProviderFunc(
			func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{
					AccessKeyID:     m.AccessKey.ValueString(),
					SecretAccessKey: m.SecretKey.ValueString(),
					SessionToken:    m.Token.ValueString(),
				}, nil
			})))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	// The SDK reads AWS_ENDPOINT_URL into BaseEndpoint itself; endpoint overrides it.
	if e := m.Endpoint.ValueString(); e != "" {
		cfg.BaseEndpoint = aws.String(e)
	}
	var per endpointModel
	if len(m.Endpoints) > 0 {
		per = m.Endpoints[0]
	}
	pathStyle := cfg.BaseEndpoint != nil || per.S3.ValueString() != ""
	if !m.S3UsePathStyle.IsNull() {
		pathStyle = m.S3UsePathStyle.ValueBool()
	}
	return &clients{
		region: region,
		s3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = pathStyle
			setEndpoint(&o.BaseEndpoint, per.S3)
		}),
		dynamodb: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { setEndpoint(&o.BaseEndpoint, per.DynamoDB) }),
		sns:      sns.NewFromConfig(cfg, func(o *sns.Options) { setEndpoint(&o.BaseEndpoint, per.SNS) }),
	}, nil
}

func setEndpoint(dst **string, v types.String) {
	if v.ValueString() != "" {
		*dst = aws.String(v.ValueString())
	}
}

func firstSet(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func (p *awsProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{newS3Bucket, newDynamoDBTable, newSNSTopic}
}

func (p *awsProvider) DataSources(context.Context) []func() datasource.DataSource {
	return nil
}
