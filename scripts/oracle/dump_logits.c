// llama.cpp model oracle: raw logits, greedy continuations and speed, through the public llama.h
// API of the prebuilt libllama that node-llama-cpp ships (node-llama-cpp's JS API exposes token
// probabilities, not raw logits). Built and run by scripts/oracle/model-fixtures.mjs.
//
// Numerics: CPU backend only, one thread, flash attention off, F32 K/V cache (so the cache does
// not round keys and values to f16), no weight repacking, the prompt decoded as one batch, then
// one token per decode. To measure how far llama.cpp's own kernel paths sit from each other
// (scripts/oracle/spread.mjs), the environment can switch single settings:
// DUMP_LOGITS_REPACK=1 (weight repacking on), DUMP_LOGITS_FLASH=1 (flash attention on),
// DUMP_LOGITS_KV_F16=1 (F16 K/V cache), DUMP_LOGITS_GPU=1 (every layer offloaded to the GPU
// backend, when the binary is linked against a GPU build: spread.mjs's Vulkan row).
//
// usage:
//   dump_logits info   BACKEND_DIR
//       -> "I <build number> <commit>" and "S <llama_print_system_info()>"
//   dump_logits run    BACKEND_DIR MODEL N_CTX N_PREDICT TOP_K REQUESTS
//       REQUESTS has one "P <prompt as hex>" line per case. Per case, prints
//       "T id,id,..."                     the prompt tokens (add_special = true, parse_special = true)
//       N_PREDICT lines "S argmax gap id logit id logit ..."
//                                         logits after the prompt and the greedy tokens so far:
//                                         argmax (lowest id on ties), top-1 minus top-2 over the
//                                         whole vocabulary, then the TOP_K highest (logit desc, id asc)
//       then "E"
//   dump_logits force  BACKEND_DIR MODEL N_CTX REQUESTS
//       teacher forcing: REQUESTS has one "F <n_prompt> id,id,..." line per case; decodes the first
//       n_prompt ids as one batch, then the rest one per decode, and after each decode prints
//       "L logit logit ..." (the whole vocabulary), then "E"
//   dump_logits bench  BACKEND_DIR MODEL N_PROMPT N_GEN N_THREADS REPS
//       -> "B n_prompt n_gen threads prefill_tok_s decode_tok_s" (best of REPS after a warm-up);
//          the prompt is N_PROMPT tokens of a fixed English text, decoding is greedy; llama.cpp's
//          default settings (weight repacking, F16 KV cache, flash attention auto)
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-backend.h"
#include "llama.h"

// From libllama-common (common/build-info.cpp).
extern int LLAMA_BUILD_NUMBER;
extern char const * LLAMA_COMMIT;

static void quiet_log(enum ggml_log_level level, const char * text, void * user) {
    (void) user;
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static int unhex(const char * s, char * out) {
    int n = 0;
    while (s[0] && s[1] && s[0] != '\n') {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1) break;
        out[n++] = (char) v;
        s += 2;
    }
    return n;
}

// `plain`: no weight repacking (extra buffer types), so every matmul runs ggml's reference CPU
// path (vec_dot per row, activations quantized to the weight type's vec_dot type), and tensor
// data is validated on load. The fixtures use it; the speed benchmark uses llama.cpp's defaults.
static struct llama_model * load_model(const char * path, bool plain) {
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = getenv("DUMP_LOGITS_GPU") != NULL ? 999 : 0;
    if (plain) {
        mp.use_extra_bufts = getenv("DUMP_LOGITS_REPACK") != NULL;
        mp.check_tensors = true;
    }
    struct llama_model * model = llama_model_load_from_file(path, mp);
    if (!model) { fprintf(stderr, "failed to load %s\n", path); exit(1); }
    return model;
}

// `plain`: flash attention off and an F32 KV cache (the fixtures); otherwise llama.cpp's
// defaults (F16 KV cache, flash attention auto) for the speed benchmark.
static struct llama_context * new_context(struct llama_model * model, int n_ctx, int n_threads, bool plain) {
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t) n_ctx;
    cp.n_batch = (uint32_t) n_ctx;
    cp.n_ubatch = (uint32_t) n_ctx;
    cp.n_seq_max = 1;
    cp.n_threads = n_threads;
    cp.n_threads_batch = n_threads;
    if (plain) {
        bool flash = getenv("DUMP_LOGITS_FLASH") != NULL;
        bool f16 = getenv("DUMP_LOGITS_KV_F16") != NULL;
        cp.flash_attn_type = flash ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
        cp.type_k = f16 ? GGML_TYPE_F16 : GGML_TYPE_F32;
        cp.type_v = f16 ? GGML_TYPE_F16 : GGML_TYPE_F32;
    }
    cp.no_perf = true;
    struct llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "failed to create a context\n"); exit(1); }
    return ctx;
}

static void decode(struct llama_context * ctx, llama_token * toks, int n) {
    int r = llama_decode(ctx, llama_batch_get_one(toks, n));
    if (r != 0) { fprintf(stderr, "llama_decode failed: %d\n", r); exit(1); }
}

static int argmax(const float * logits, int n_vocab) {
    int best = 0;
    for (int i = 1; i < n_vocab; i++) if (logits[i] > logits[best]) best = i;
    return best;
}

static int by_logit_desc(const void * a, const void * b, void * arg) {
    const float * logits = arg;
    int x = *(const int *) a, y = *(const int *) b;
    if (logits[x] > logits[y]) return -1;
    if (logits[x] < logits[y]) return 1;
    return x - y;
}

static int run(const char * model_path, int n_ctx, int n_predict, int top_k, const char * requests) {
    struct llama_model * model = load_model(model_path, true);
    const struct llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    struct llama_context * ctx = new_context(model, n_ctx, 1, true);

    FILE * f = fopen(requests, "rb");
    if (!f) { perror(requests); return 1; }
    static char line[1 << 20], text[1 << 19];
    llama_token * toks = malloc(sizeof(llama_token) * n_ctx);
    int * order = malloc(sizeof(int) * n_vocab);
    while (fgets(line, sizeof line, f)) {
        if (line[0] != 'P') continue;
        int len = unhex(line + 2, text);
        int n = llama_tokenize(vocab, text, len, toks, n_ctx, true, true);
        if (n < 0 || n + n_predict > n_ctx) { fprintf(stderr, "prompt too long: %d tokens\n", n); return 1; }
        fputs("T ", stdout);
        for (int i = 0; i < n; i++) printf(i ? ",%d" : "%d", toks[i]);
        fputs("\n", stdout);

        llama_memory_clear(llama_get_memory(ctx), true);
        decode(ctx, toks, n);
        for (int step = 0; step < n_predict; step++) {
            const float * logits = llama_get_logits_ith(ctx, -1);
            int best = argmax(logits, n_vocab);
            float second = -INFINITY;
            for (int i = 0; i < n_vocab; i++) if (i != best && logits[i] > second) second = logits[i];
            for (int i = 0; i < n_vocab; i++) order[i] = i;
            qsort_r(order, (size_t) n_vocab, sizeof(int), by_logit_desc, (void *) logits);
            printf("S %d %.9g", best, (double) (logits[best] - second));
            for (int i = 0; i < top_k && i < n_vocab; i++) printf(" %d %.9g", order[i], (double) logits[order[i]]);
            fputs("\n", stdout);
            llama_token next = best;
            decode(ctx, &next, 1);
        }
        fputs("E\n", stdout);
        fflush(stdout);
    }
    fclose(f);
    free(order);
    free(toks);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}

static int force(const char * model_path, int n_ctx, const char * requests) {
    struct llama_model * model = load_model(model_path, true);
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    struct llama_context * ctx = new_context(model, n_ctx, 1, true);

    FILE * f = fopen(requests, "rb");
    if (!f) { perror(requests); return 1; }
    static char line[1 << 20];
    llama_token * toks = malloc(sizeof(llama_token) * n_ctx);
    while (fgets(line, sizeof line, f)) {
        if (line[0] != 'F') continue;
        char * p = line + 2;
        int n_prompt = (int) strtol(p, &p, 10), n = 0;
        while (*p == ' ' || *p == ',') {
            if (n == n_ctx) { fprintf(stderr, "more than n_ctx tokens\n"); return 1; }
            toks[n++] = (llama_token) strtol(p + 1, &p, 10);
        }
        if (n_prompt < 1 || n_prompt > n) { fprintf(stderr, "bad n_prompt %d of %d\n", n_prompt, n); return 1; }
        llama_memory_clear(llama_get_memory(ctx), true);
        for (int at = 0; at < n; at = at ? at + 1 : n_prompt) {
            decode(ctx, toks + at, at ? 1 : n_prompt);
            const float * logits = llama_get_logits_ith(ctx, -1);
            fputs("L", stdout);
            for (int i = 0; i < n_vocab; i++) printf(" %.9g", (double) logits[i]);
            fputs("\n", stdout);
        }
        fputs("E\n", stdout);
        fflush(stdout);
    }
    fclose(f);
    free(toks);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}

static const char * BENCH_TEXT =
    "The history of science is the study of the development of science and scientific knowledge, "
    "including both the natural and social sciences. Science is a body of empirical, theoretical, and "
    "practical knowledge about the natural world, produced by scientists who emphasize the observation, "
    "explanation, and prediction of real-world phenomena. The earliest roots of science can be traced to "
    "Ancient Egypt and Mesopotamia in around 3000 to 1200 BCE. Their contributions to mathematics, "
    "astronomy, and medicine entered and shaped Greek natural philosophy of classical antiquity, whereby "
    "formal attempts were made to provide explanations of events in the physical world based on natural "
    "causes. After the fall of the Western Roman Empire, knowledge of Greek conceptions of the world "
    "deteriorated in Western Europe during the early centuries of the Middle Ages but was preserved in "
    "the Muslim world during the Islamic Golden Age.";

static int bench(const char * model_path, int n_prompt, int n_gen, int n_threads, int reps) {
    struct llama_model * model = load_model(model_path, false);
    const struct llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    const int n_ctx = n_prompt + n_gen + 16;
    struct llama_context * ctx = new_context(model, n_ctx, n_threads, false);
    llama_token * toks = malloc(sizeof(llama_token) * 4096);
    int n = llama_tokenize(vocab, BENCH_TEXT, (int) strlen(BENCH_TEXT), toks, 4096, true, false);
    if (n < n_prompt) { fprintf(stderr, "bench text has only %d tokens\n", n); return 1; }

    double best_pp = 0, best_tg = 0;
    for (int rep = -1; rep < reps; rep++) {  // rep -1 is the warm-up
        llama_memory_clear(llama_get_memory(ctx), true);
        int64_t t0 = ggml_time_us();
        decode(ctx, toks, n_prompt);
        llama_token next = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
        int64_t t1 = ggml_time_us();
        for (int i = 0; i < n_gen; i++) {
            decode(ctx, &next, 1);
            next = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
        }
        int64_t t2 = ggml_time_us();
        double pp = n_prompt / ((t1 - t0) / 1e6), tg = n_gen / ((t2 - t1) / 1e6);
        fprintf(stderr, "bench rep %d: prefill %.1f tok/s, decode %.1f tok/s\n", rep, pp, tg);
        if (rep >= 0) {
            if (pp > best_pp) best_pp = pp;
            if (tg > best_tg) best_tg = tg;
        }
    }
    printf("B %d %d %d %.2f %.2f\n", n_prompt, n_gen, n_threads, best_pp, best_tg);
    free(toks);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}

int main(int argc, char ** argv) {
    if (argc < 3) { fprintf(stderr, "usage: see the comment at the top of dump_logits.c\n"); return 2; }
    llama_log_set(quiet_log, NULL);
    ggml_time_init();
    // node-llama-cpp's build loads CPU backends dynamically (one per instruction-set level); load
    // them from the prebuilt directory, the best one for this CPU wins.
    ggml_backend_load_all_from_path(argv[2]);
    llama_backend_init();
    int rc;
    if (strcmp(argv[1], "info") == 0) {
        printf("I %d %s\n", LLAMA_BUILD_NUMBER, LLAMA_COMMIT);
        printf("S %s\n", llama_print_system_info());
        rc = 0;
    } else if (strcmp(argv[1], "run") == 0 && argc == 8) {
        rc = run(argv[3], atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), argv[7]);
    } else if (strcmp(argv[1], "force") == 0 && argc == 6) {
        rc = force(argv[3], atoi(argv[4]), argv[5]);
    } else if (strcmp(argv[1], "bench") == 0 && argc == 8) {
        rc = bench(argv[3], atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7]));
    } else {
        fprintf(stderr, "usage: see the comment at the top of dump_logits.c\n");
        rc = 2;
    }
    llama_backend_free();
    return rc;
}
