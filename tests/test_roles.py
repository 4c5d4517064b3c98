def test_curators_can_change_batches_but_only_view_runs(curator):
    assert curator.has_perm("batches.add_batch")
    assert curator.has_perm("clams_apps.change_clamsapp")
    assert curator.has_perm("runs.view_run")
    assert not curator.has_perm("runs.change_run")


def test_viewers_can_only_view(viewer):
    assert viewer.has_perm("batches.view_batch")
    assert viewer.has_perm("runs.view_steprun")
    assert not viewer.has_perm("batches.add_batch")
    assert not viewer.has_perm("pipelines.change_pipeline")


def test_curators_may_start_cancel_and_retry_batches_and_viewers_may_not(curator, viewer):
    assert curator.has_perm("batches.run_batch")
    assert not viewer.has_perm("batches.run_batch")
