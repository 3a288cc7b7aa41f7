// Test fixture for the system tests: creates a state store in DIR that claims a schema version
// newer than this build supports, as a store written by a future Switchboard would.
//   sb_future_store DIR
#include <cstdio>

#include "state-store/store.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: sb_future_store DIR\n");
    return 2;
  }
  auto store = sb::store::Store::Open(argv[1], {});
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  sb::store::Batch b = (*store)->NewBatch();
  b.PutMeta("schema_version", sb::store::EncodeBe64(sb::store::kSchemaVersion + 1));
  b.PutMeta("drill/base_real_ms", sb::store::EncodeBe64(0));
  sb::Status st = (*store)->Commit(std::move(b), /*sync=*/true);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}
