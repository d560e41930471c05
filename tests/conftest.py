import os

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ESF_PIPELINE_KEY", "test-key-not-secret")

# The real-browser tests' server, browser and steps, shared by test_web_browser.py and
# test_web_browser_checks.py (session scope: one server for both; nothing starts unless a test asks).
from browser_fixtures import browser, ingested, page, report_set, revalidated, site  # noqa: E402, F401
