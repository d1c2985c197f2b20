"""The Comms Hub Function's hub model (GBCS CHF; shared/reference/han.md §5): Device Logs, join
windows, CS14 alerts, the hub's DLMS objects and logs."""
