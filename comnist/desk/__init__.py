"""The maintainer's review desk (``comnist review --serve``) and the collection report."""
