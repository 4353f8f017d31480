// PostAuthentication: an audit hook in the older callback style (event, context, callback).
export const handler = (event, context, callback) => {
  callback(null, event);
};
