"""A Cognito Sync trigger (SyncTrigger): normalises `nickname` to upper case, refuses the value
`forbidden` by removing its record, and stamps every sync with a `checked` record."""


def handler(event, context):
    records = event["datasetRecords"]
    for key, record in records.items():
        if key == "nickname" and record["op"] == "replace" and record["newValue"]:
            record["newValue"] = record["newValue"].upper()
        if record.get("newValue") == "forbidden":
            record["op"] = "remove"
            record["newValue"] = None
    records["checked"] = {"oldValue": None, "newValue": "yes", "op": "replace"}
    return event
