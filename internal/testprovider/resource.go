package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// configured gives every resource the provider's clients.
type configured struct {
	c *clients
}

func (r *configured) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if req.ProviderData == nil { // validation runs before the provider is configured
		return
	}
	c, ok := req.ProviderData.(*clients)
	if !ok {
		resp.Diagnostics.AddError("Configure resource", fmt.Sprintf("unexpected provider data %T", req.ProviderData))
		return
	}
	r.c = c
}

// ImportState serves every resource: each is imported by its id (the bucket name, the
// table name, the topic ARN) and Read fills in the rest.
func (r *configured) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}

// Attributes every resource shares, with the real provider's names.
var (
	idAttribute = schema.StringAttribute{
		Computed:      true,
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
	arnAttribute = schema.StringAttribute{
		Computed:      true,
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
	tagsAttribute = schema.MapAttribute{
		ElementType: types.StringType,
		Optional:    true,
		Description: "Tags on the remote object; Read returns what is really there, so changes made elsewhere show as drift.",
	}
)

// requiredForceNew is a required string whose change replaces the object, as a name does.
func requiredForceNew(description string) schema.StringAttribute {
	return schema.StringAttribute{
		Required:      true,
		Description:   description,
		PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
}

// deleteByID is the Delete of a resource whose id alone names the remote object: an object
// already gone is no error, so a destroy after someone deleted it by hand completes.
func deleteByID(ctx context.Context, what string, req resource.DeleteRequest, resp *resource.DeleteResponse, del func(id string) error) {
	var id types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("id"), &id)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := del(id.ValueString()); err != nil && !isNotFound(err) {
		resp.Diagnostics.AddError("Delete "+what+" "+id.ValueString(), err.Error())
	}
}

// isNotFound reports whether an AWS error says the object does not exist, across the
// services' different error codes.
func isNotFound(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode() {
	case "NotFound", "NoSuchBucket", "ResourceNotFoundException", "NotFoundException":
		return true
	}
	return false
}
