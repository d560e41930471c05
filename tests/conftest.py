import os

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ESF_PIPELINE_KEY", "test-key-not-secret")
