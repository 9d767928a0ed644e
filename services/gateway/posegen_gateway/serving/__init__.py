"""The gateway's logic between HTTP and the library: each function takes what it needs by keyword and
returns a response model, so the routers stay a few lines each."""
