"""CAIL2019 要素识别 (legal element recognition, multi-label sentences): data formats and validation, a synthetic sample."""
