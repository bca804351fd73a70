"""DGCNN reading comprehension (WebQA / SogouQA): data formats and validation, the official Sogou metric,
a synthetic sample."""
