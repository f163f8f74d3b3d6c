from hybrid.local_opensearch.assemble import MODULE_SPECS, descriptor


def test_descriptors_declare_what_knn_needs() -> None:
    painless = descriptor("lang-painless", MODULE_SPECS["lang-painless"], "2.19.1").splitlines()
    assert "name=lang-painless" in painless
    assert "classname=org.opensearch.painless.PainlessPlugin" in painless
    assert "opensearch.version=2.19.1" in painless
    common = descriptor("analysis-common", MODULE_SPECS["analysis-common"], "2.19.1").splitlines()
    assert "extended.plugins=lang-painless" in common
    assert "classname=org.opensearch.analysis.common.CommonAnalysisPlugin" in common
