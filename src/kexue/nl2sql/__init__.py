"""Chinese NL2SQL (Tianchi 2019, TableQA format): data, SQL execution, metrics, submission, sample data."""
