// Event-driven kernels of mfjax.spiking for the CPU (XLA FFI custom calls; see ../_kernel.py).
//
// Deliver: for each of the first `count` entries i of `spikes` (indices of neurons that fired), row i
// of `table` (uint16 or int32) lists that neuron's synapses as addresses into `x`; every address receives
// `weight` (times the synapse's factor when `factors` is given).  Addresses are offset by
// `offset` and wrapped modulo `modulus` (a ring of future input); modulus 0 means no ring.
// This is the loop that mfjax otherwise runs as a jax.lax.fori_loop of scatter-adds.
//
// Emit: the neurons lo <= i < hi with spiked[i] are written, in ascending order and counted
// from lo, into row `slot` of `hist`, their number into hcount[slot]; their spike counts,
// last spike step and inter-spike-interval sums are updated as in
// mfjax.spiking._statistics.accumulate (intervals count from the transient on).
#include <cstdint>
#include <cstring>
#include <algorithm>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

// Adds the synapses of the first `n` entries of `spk` into x (see the header comment).
template <typename Index, typename Real>
static void DeliverRows(const Index* tab, int64_t rows, int64_t width, const int32_t* spk, int64_t n,
                        const Real* fac, Real w, int64_t shift, int64_t modulus, int64_t size, Real* x) {
  const uint64_t limit = static_cast<uint64_t>(size);
  constexpr int64_t kLine = 64 / sizeof(Index);  // table entries per cache line
  for (int64_t j = 0; j < n; ++j) {
    const int64_t i = spk[j];
    if (i < 0 || i >= rows) continue;
    const Index* row = tab + i * width;
    if (j + 1 < n) {  // the next spike's row streams in while this one is added (~15% faster)
      const int64_t next = spk[j + 1];
      if (next >= 0 && next < rows)
        for (int64_t k = 0; k < width; k += kLine) __builtin_prefetch(tab + next * width + k);
    }
    if (modulus == 0 && shift == 0 && fac == nullptr) {
      int64_t k = 0;
      for (; k + 4 <= width; k += 4) {  // four independent increments per iteration
        const uint64_t a0 = static_cast<uint32_t>(row[k]), a1 = static_cast<uint32_t>(row[k + 1]);
        const uint64_t a2 = static_cast<uint32_t>(row[k + 2]), a3 = static_cast<uint32_t>(row[k + 3]);
        if (a0 < limit) x[a0] += w;
        if (a1 < limit) x[a1] += w;
        if (a2 < limit) x[a2] += w;
        if (a3 < limit) x[a3] += w;
      }
      for (; k < width; ++k) {
        const uint64_t a = static_cast<uint32_t>(row[k]);
        if (a < limit) x[a] += w;
      }
    } else {
      const Real* f = fac == nullptr ? nullptr : fac + i * width;
      for (int64_t k = 0; k < width; ++k) {
        int64_t a = static_cast<int64_t>(row[k]) + shift;
        if (modulus > 0 && a >= modulus) a -= modulus;
        if (a >= 0 && a < size) x[a] += f == nullptr ? w : w * f[k];
      }
    }
  }
}

template <ffi::DataType T>
static ffi::Error Deliver(ffi::AnyBuffer table, ffi::Buffer<ffi::S32> spikes, ffi::Buffer<ffi::S32> count,
                          ffi::Buffer<ffi::S32> offset, ffi::Buffer<T> factors, ffi::Buffer<T> weight,
                          ffi::Buffer<T> x_in, ffi::ResultBuffer<T> x_out, int64_t modulus) {
  using Real = ffi::NativeType<T>;
  auto table_dims = table.dimensions();
  if (table_dims.size() != 2) return ffi::Error::InvalidArgument("table must be 2-d");
  const int64_t rows = table_dims[0], width = table_dims[1];
  const int64_t size = x_in.element_count();
  Real* x = x_out->typed_data();
  if (x != x_in.typed_data()) std::memcpy(x, x_in.typed_data(), size * sizeof(Real));
  const int64_t n = std::min<int64_t>(count.typed_data()[0], spikes.element_count());
  const Real* fac = factors.element_count() == table.element_count() ? factors.typed_data() : nullptr;
  const Real w = weight.typed_data()[0];
  const int64_t shift = offset.typed_data()[0];
  switch (table.element_type()) {
    case ffi::DataType::U16:
      DeliverRows(static_cast<const uint16_t*>(table.untyped_data()), rows, width, spikes.typed_data(), n, fac,
                  w, shift, modulus, size, x);
      break;
    case ffi::DataType::S32:
      DeliverRows(static_cast<const int32_t*>(table.untyped_data()), rows, width, spikes.typed_data(), n, fac,
                  w, shift, modulus, size, x);
      break;
    default:
      return ffi::Error::InvalidArgument("table must be uint16 or int32");
  }
  return ffi::Error::Success();
}

template <ffi::DataType T>
static ffi::Error Emit(ffi::Buffer<ffi::PRED> spiked, ffi::Buffer<ffi::S32> step, ffi::Buffer<ffi::S32> slot_in,
                       ffi::Buffer<ffi::S32> hist_in, ffi::Buffer<ffi::S32> hcount_in,
                       ffi::Buffer<ffi::S32> counts_in, ffi::Buffer<ffi::S32> last_in, ffi::Buffer<T> sum_in,
                       ffi::Buffer<T> sq_in, ffi::ResultBuffer<ffi::S32> hist, ffi::ResultBuffer<ffi::S32> hcount,
                       ffi::ResultBuffer<ffi::S32> counts, ffi::ResultBuffer<ffi::S32> last,
                       ffi::ResultBuffer<T> isi_sum, ffi::ResultBuffer<T> isi_sq, int64_t lo, int64_t hi,
                       int64_t transient) {
  using Real = ffi::NativeType<T>;
  auto same = [](auto& out, auto& in) {
    if (out->untyped_data() != in.untyped_data())
      std::memcpy(out->untyped_data(), in.untyped_data(), in.size_bytes());
  };
  same(hist, hist_in);
  same(hcount, hcount_in);
  same(counts, counts_in);
  same(last, last_in);
  same(isi_sum, sum_in);
  same(isi_sq, sq_in);
  auto hist_dims = hist_in.dimensions();
  if (hist_dims.size() != 2) return ffi::Error::InvalidArgument("hist must be 2-d");
  const int64_t ring = hist_dims[0], width = hist_dims[1];
  const int64_t n = spiked.element_count();
  if (lo < 0 || hi > n || hi - lo > width || counts_in.element_count() != n)
    return ffi::Error::InvalidArgument("emit: population range does not fit the arrays");
  const int64_t slot = slot_in.typed_data()[0];
  if (slot < 0 || slot >= ring) return ffi::Error::InvalidArgument("emit: slot outside the ring");
  const int32_t t = step.typed_data()[0];
  const bool* s = spiked.typed_data();
  int32_t* row = hist->typed_data() + slot * width;
  int32_t* cnt = counts->typed_data();
  int32_t* lst = last->typed_data();
  Real* sum = isi_sum->typed_data();
  Real* sq = isi_sq->typed_data();
  int32_t written = 0;
  int64_t i = lo;
  for (; i < hi; ++i) {
    if ((i & 7) == 0 && i + 8 <= hi) {  // skip 8 silent neurons at a time
      uint64_t word;
      std::memcpy(&word, s + i, 8);
      if (word == 0) {
        i += 7;
        continue;
      }
    }
    if (!s[i]) continue;
    row[written++] = static_cast<int32_t>(i - lo);
    if (t >= transient) {
      cnt[i] += 1;
      if (lst[i] >= transient) {
        const Real isi = static_cast<Real>(t - lst[i]);
        sum[i] += isi;
        sq[i] += isi * isi;
      }
    }
    lst[i] = t;
  }
  hcount->typed_data()[slot] = written;
  return ffi::Error::Success();
}

#define MFJAX_EMIT_HANDLER(name, T)                                \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(name, Emit<T>,                     \
                                ffi::Ffi::Bind()                   \
                                    .Arg<ffi::Buffer<ffi::PRED>>() \
                                    .Arg<ffi::Buffer<ffi::S32>>()  \
                                    .Arg<ffi::Buffer<ffi::S32>>()  \
                                    .Arg<ffi::Buffer<ffi::S32>>()  \
                                    .Arg<ffi::Buffer<ffi::S32>>()  \
                                    .Arg<ffi::Buffer<ffi::S32>>()  \
                                    .Arg<ffi::Buffer<ffi::S32>>()  \
                                    .Arg<ffi::Buffer<T>>()         \
                                    .Arg<ffi::Buffer<T>>()         \
                                    .Ret<ffi::Buffer<ffi::S32>>()  \
                                    .Ret<ffi::Buffer<ffi::S32>>()  \
                                    .Ret<ffi::Buffer<ffi::S32>>()  \
                                    .Ret<ffi::Buffer<ffi::S32>>()  \
                                    .Ret<ffi::Buffer<T>>()         \
                                    .Ret<ffi::Buffer<T>>()         \
                                    .Attr<int64_t>("lo")           \
                                    .Attr<int64_t>("hi")           \
                                    .Attr<int64_t>("transient"));

MFJAX_EMIT_HANDLER(MfjaxEmitF32, ffi::F32)
MFJAX_EMIT_HANDLER(MfjaxEmitF64, ffi::F64)

#define MFJAX_DELIVER_HANDLER(name, T)                   \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(name, Deliver<T>,        \
                                ffi::Ffi::Bind()         \
                                    .Arg<ffi::AnyBuffer>()        \
                                    .Arg<ffi::Buffer<ffi::S32>>() \
                                    .Arg<ffi::Buffer<ffi::S32>>() \
                                    .Arg<ffi::Buffer<ffi::S32>>() \
                                    .Arg<ffi::Buffer<T>>()        \
                                    .Arg<ffi::Buffer<T>>()        \
                                    .Arg<ffi::Buffer<T>>()        \
                                    .Ret<ffi::Buffer<T>>()        \
                                    .Attr<int64_t>("modulus"));

MFJAX_DELIVER_HANDLER(MfjaxDeliverF32, ffi::F32)
MFJAX_DELIVER_HANDLER(MfjaxDeliverF64, ffi::F64)
