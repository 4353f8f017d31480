// PreTokenGeneration (version 1, ID token): a tenant claim, the email suppressed, a group added.
export const handler = async (event) => {
  event.response = {
    claimsOverrideDetails: {
      claimsToAddOrOverride: { tenant: "acme", signed_in_by: event.triggerSource },
      claimsToSuppress: ["email"],
      groupOverrideDetails: {
        groupsToOverride: [...event.request.groupConfiguration.groupsToOverride, "node-users"],
      },
    },
  };
  return event;
};
