// llama.cpp tokenizer oracle: a few calls into the public llama.h API of the prebuilt libllama
// that node-llama-cpp ships. node-llama-cpp's JS API covers tokenize(add_special = false) and
// detokenize(remove_special = false); this helper adds add_special = true, remove_special = true,
// llama_token_to_piece and the per-token attributes. Built and run by make_tokenizer_fixtures.mjs.
//
// usage: tokenizer_oracle MODEL.gguf REQUESTS.txt
// requests, one per line:
//   T <hex text>         -> "T l00;l01;l10;l11"  ids of llama_tokenize(add_special, parse_special)
//                           for (0,0) (0,1) (1,0) (1,1); each list comma-separated, may be empty
//   D <id,id,...>        -> "D h00 h01 h10 h11"  llama_detokenize(remove_special, unparse_special)
//                           bytes as hex ("-" when empty) for (0,0) (0,1) (1,0) (1,1)
//   V                    -> "I n_tokens bos eos eot sep nl pad add_bos add_eos vocab_type" then one
//                           "V id attr is_eog piece(special=0) piece(special=1)" line per token
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static void put_hex(const char * buf, int n) {
    if (n <= 0) { fputs("-", stdout); return; }
    for (int i = 0; i < n; i++) printf("%02x", (unsigned char) buf[i]);
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

static void quiet_log(enum ggml_log_level level, const char * text, void * user) {
    (void) user;
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(int argc, char ** argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s MODEL REQUESTS\n", argv[0]); return 2; }
    llama_log_set(quiet_log, NULL);
    llama_backend_init();

    struct llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    mp.n_gpu_layers = 0;
    struct llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "failed to load %s\n", argv[1]); return 1; }
    const struct llama_vocab * vocab = llama_model_get_vocab(model);

    FILE * f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    size_t cap = 1 << 20;
    char * line = malloc(cap);
    char * text = malloc(cap);
    llama_token * toks = malloc(sizeof(llama_token) * cap);
    char * out = malloc(cap * 8);
    size_t len = 0;
    int c;
    for (;;) {
        len = 0;
        while ((c = fgetc(f)) != EOF && c != '\n') {
            if (len + 2 >= cap) {
                cap *= 2;
                line = realloc(line, cap);
                text = realloc(text, cap);
                toks = realloc(toks, sizeof(llama_token) * cap);
                out = realloc(out, cap * 8);
            }
            line[len++] = (char) c;
        }
        line[len] = 0;
        if (len == 0 && c == EOF) break;
        if (len == 0) continue;

        if (line[0] == 'T') {
            int n = unhex(line + 2, text);
            fputs("T ", stdout);
            for (int k = 0; k < 4; k++) {
                const bool add = k >= 2, parse = k & 1;
                int m = llama_tokenize(vocab, text, n, toks, (int) cap, add, parse);
                if (m < 0) { fprintf(stderr, "tokenize failed: %d\n", m); return 1; }
                if (k) fputs(";", stdout);
                for (int i = 0; i < m; i++) printf(i ? ",%d" : "%d", toks[i]);
            }
            fputs("\n", stdout);
        } else if (line[0] == 'D') {
            int m = 0;
            const char * p = line + 1;
            while (*p) {
                while (*p == ' ' || *p == ',') p++;
                if (!*p) break;
                toks[m++] = (llama_token) strtol(p, (char **) &p, 10);
            }
            fputs("D", stdout);
            for (int k = 0; k < 4; k++) {
                const bool remove = k >= 2, unparse = k & 1;
                int r = llama_detokenize(vocab, toks, m, out, (int) (cap * 8), remove, unparse);
                if (r < 0) { fprintf(stderr, "detokenize failed: %d\n", r); return 1; }
                fputs(" ", stdout);
                put_hex(out, r);
            }
            fputs("\n", stdout);
        } else if (line[0] == 'V') {
            const int n = llama_vocab_n_tokens(vocab);
            printf("I %d %d %d %d %d %d %d %d %d %d\n", n, llama_vocab_bos(vocab), llama_vocab_eos(vocab),
                   llama_vocab_eot(vocab), llama_vocab_sep(vocab), llama_vocab_nl(vocab), llama_vocab_pad(vocab),
                   llama_vocab_get_add_bos(vocab), llama_vocab_get_add_eos(vocab), (int) llama_vocab_type(vocab));
            for (int id = 0; id < n; id++) {
                printf("V %d %d %d ", id, (int) llama_vocab_get_attr(vocab, id), llama_vocab_is_eog(vocab, id));
                int r = llama_token_to_piece(vocab, id, out, (int) (cap * 8), 0, false);
                put_hex(out, r);
                fputs(" ", stdout);
                r = llama_token_to_piece(vocab, id, out, (int) (cap * 8), 0, true);
                put_hex(out, r);
                fputs("\n", stdout);
            }
        } else {
            fprintf(stderr, "bad request line: %.20s\n", line);
            return 1;
        }
    }
    fflush(stdout);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
