// Event-driven kernels of mfjax.spiking for the CPU (XLA FFI custom calls; see ../_kernel.py).
//
// Deliver: for each of the first `count` entries i of `spikes` (indices of neurons that fired), row i
// of `table` lists that neuron's synapses as addresses into `x`; every address receives
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

template <ffi::DataType T>
static ffi::Error Deliver(ffi::Buffer<ffi::S32> table, ffi::Buffer<ffi::S32> spikes,
                          ffi::Buffer<ffi::S32> count, ffi::Buffer<ffi::S32> offset,
                          ffi::Buffer<T> factors, ffi::Buffer<T> weight, ffi::Buffer<T> x_in,
                          ffi::ResultBuffer<T> x_out, int64_t modulus) {
  using Real = ffi::NativeType<T>;
  auto table_dims = table.dimensions();
  if (table_dims.size() != 2) return ffi::Error::InvalidArgument("table must be 2-d");
  const int64_t rows = table_dims[0], width = table_dims[1];
  const int64_t size = x_in.element_count();
  Real* x = x_out->typed_data();
  if (x != x_in.typed_data()) std::memcpy(x, x_in.typed_data(), size * sizeof(Real));
  const int64_t n = std::min<int64_t>(count.typed_data()[0], spikes.element_count());
  const bool with_factors = factors.element_count() == table.element_count();
  const int32_t* tab = table.typed_data();
  const int32_t* spk = spikes.typed_data();
  const Real* fac = factors.typed_data();
  const Real w = weight.typed_data()[0];
  const int64_t shift = offset.typed_data()[0];
  for (int64_t j = 0; j < n; ++j) {
    const int64_t i = spk[j];
    if (i < 0 || i >= rows) continue;
    const int32_t* row = tab + i * width;
    if (modulus == 0 && !with_factors) {
      for (int64_t k = 0; k < width; ++k) {
        const uint64_t a = static_cast<uint32_t>(row[k]);
        if (a < static_cast<uint64_t>(size)) x[a] += w;
      }
    } else {
      const Real* f = with_factors ? fac + i * width : nullptr;
      for (int64_t k = 0; k < width; ++k) {
        int64_t a = row[k] + shift;
        if (modulus > 0 && a >= modulus) a -= modulus;
        if (a >= 0 && a < size) x[a] += with_factors ? w * f[k] : w;
      }
    }
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
                                    .Arg<ffi::Buffer<ffi::S32>>() \
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
